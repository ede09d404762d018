"""People who log in: create, disable and re-password them, check passwords (Argon2id), know who they are.

Disabling a user or changing their password ends every session they have (accounts/logins.py).
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from feedback.accounts.access import Caller
from feedback.accounts.logins import end_user_sessions
from feedback.analysis.text import control_character_error
from feedback.departments.service import get_department
from feedback.errors import InvalidInput, NotFound, Unauthorized
from feedback.models import Department, Role, User, utcnow

MIN_PASSWORD_CHARS = 12
_hasher = PasswordHasher()  # Argon2id with the library's current recommended parameters
# Verifying against this keeps a login for an unknown e-mail as slow as one for a known e-mail.
_DUMMY_HASH = _hasher.hash("not a real password, only for timing")


def create_user(
    session: Session, email: str, name: str, password: str, role: Role, department: str | None = None
) -> User:
    """A new login. A department head needs the department they may see."""
    email = email.strip().lower()
    if "@" not in email:
        raise InvalidInput.on("email", "not an e-mail address")
    if problem := control_character_error(name):
        raise InvalidInput.on("name", problem)
    _check_strength(password)
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise InvalidInput.on("email", "a user with this e-mail exists already")
    department_id = None
    if role == Role.DEPARTMENT_HEAD:
        if not department:
            raise InvalidInput.on("department", "a department head needs their department")
        department_id = get_department(session, department, field="department").id
    user = User(
        email=email,
        name=name.strip() or email,
        password_hash=_hasher.hash(password),
        role=role,
        department_id=department_id,
    )
    session.add(user)
    session.flush()
    return user


def _check_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_CHARS:
        raise InvalidInput.on("password", f"at least {MIN_PASSWORD_CHARS} characters")


def get_user(session: Session, email: str) -> User:
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise NotFound(f"no user {email.strip().lower()!r}")
    return user


def set_password(session: Session, email: str, password: str) -> User:
    """A new password; every session the user has ends (whoever knew the old one is signed out)."""
    _check_strength(password)
    user = get_user(session, email)
    user.password_hash = _hasher.hash(password)
    end_user_sessions(session, user.id)
    return user


def disable_user(session: Session, email: str) -> User:
    """The user can no longer sign in, and every session they have ends now."""
    user = get_user(session, email)
    if user.disabled_at is None:
        user.disabled_at = utcnow()
    end_user_sessions(session, user.id)
    return user


def enable_user(session: Session, email: str) -> User:
    user = get_user(session, email)
    user.disabled_at = None
    return user


def list_users(session: Session) -> list[tuple[User, str | None]]:
    """Every login with its department's slug, by e-mail."""
    query = (
        select(User, Department.slug)
        .outerjoin(Department, Department.id == User.department_id)
        .order_by(User.email)
    )
    return [(user, slug) for user, slug in session.execute(query)]


def check_password(session: Session, email: str, password: str) -> User:
    """The user with this e-mail and password, or Unauthorized (the same message for either mistake)."""
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        raise Unauthorized("wrong e-mail or password") from None
    if user is None or user.disabled_at is not None:
        raise Unauthorized("wrong e-mail or password")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_login_at = utcnow()
    return user


def caller_for(session: Session, user_id: int) -> Caller | None:
    """The logged-in user as a Caller, or None if they no longer exist or were disabled."""
    user = session.get(User, user_id)
    if user is None or user.disabled_at is not None:
        return None
    return Caller(user.name, Role(user.role), user.department_id)
