"""Who is calling the admin API."""

from __future__ import annotations

from sqlalchemy.orm import Session

from feedback.models import Role
from feedback.services.api_tokens import Caller, authenticate
from feedback.web.state import AnyRequest


def authorize(request: AnyRequest, session: Session, *roles: Role) -> Caller:
    """The caller behind the request's bearer token, who must hold one of ``roles`` (any role if none)."""
    caller = authenticate(session, request.headers.get("authorization"))
    if roles:
        caller.require(*roles)
    return caller


READERS = (Role.ADMIN, Role.EXECUTIVE, Role.DEPARTMENT_HEAD)
