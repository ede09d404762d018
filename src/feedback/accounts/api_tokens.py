"""API tokens: create (shown once), authenticate (by hash), revoke."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from feedback.accounts.access import Caller
from feedback.analysis.text import control_character_error
from feedback.departments.service import get_department
from feedback.errors import InvalidInput, Unauthorized
from feedback.models import ApiToken, Department, Role, utcnow
from feedback.tokens import hash_token, new_token

TOKEN_PREFIX = "fbk_"  # noqa: S105 (a public prefix, not a secret)
__all__ = ["Caller", "authenticate", "create_token", "list_tokens", "revoke_token"]


def create_token(session: Session, name: str, role: Role, department: str | None = None) -> str:
    """A new API token; only its hash is stored, so this is the one time it can be read."""
    if problem := control_character_error(name) if name.strip() else "a token needs a name":
        raise InvalidInput.on("name", problem)
    department_id = None
    if role == Role.DEPARTMENT_HEAD:
        if not department:
            raise InvalidInput.on("department", "a department head's token needs its department")
        department_id = get_department(session, department, field="department").id
    token, token_hash = new_token(32)
    session.add(ApiToken(name=name, token_hash=token_hash, role=role, department_id=department_id))
    session.flush()
    return TOKEN_PREFIX + token


def authenticate(session: Session, authorization: str | None) -> Caller:
    """The caller behind an ``Authorization: Bearer <token>`` header."""
    if not authorization or not authorization.lower().startswith("bearer "):
        raise Unauthorized("send an API token as 'Authorization: Bearer <token>'")
    token = authorization[7:].strip()
    if not token.startswith(TOKEN_PREFIX):
        raise Unauthorized("unknown or revoked API token")
    row = session.scalar(
        select(ApiToken).where(ApiToken.token_hash == hash_token(token[len(TOKEN_PREFIX) :]))
    )
    if row is None or row.revoked_at is not None:
        raise Unauthorized("unknown or revoked API token")
    return Caller(row.name, Role(row.role), row.department_id)


def revoke_token(session: Session, name: str) -> int:
    rows = list(session.scalars(select(ApiToken).where(ApiToken.name == name, ApiToken.revoked_at.is_(None))))
    for row in rows:
        row.revoked_at = utcnow()
    return len(rows)


def list_tokens(session: Session) -> list[tuple[ApiToken, str | None]]:
    """Every token (never its secret) with its department's slug, newest first."""
    query = (
        select(ApiToken, Department.slug)
        .outerjoin(Department, Department.id == ApiToken.department_id)
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    )
    return [(token, slug) for token, slug in session.execute(query)]
