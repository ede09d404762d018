"""Who is calling: an API token for the JSON API, a login session for the pages."""

from __future__ import annotations

from sqlalchemy.orm import Session

from feedback.accounts.access import Caller
from feedback.accounts.api_tokens import authenticate
from feedback.accounts.logins import session_user
from feedback.accounts.users import caller_for
from feedback.models import Role
from feedback.web.session import SESSION_COOKIE
from feedback.web.state import AnyRequest


def authorize(request: AnyRequest, session: Session, *roles: Role) -> Caller:
    """The caller behind the request's bearer token, who must hold one of ``roles`` (any role if none)."""
    caller = authenticate(session, request.headers.get("authorization"))
    if roles:
        caller.require(*roles)
    return caller


READERS = (Role.ADMIN, Role.EXECUTIVE, Role.DEPARTMENT_HEAD)


class LoginRequired(Exception):
    """A page needs a logged-in person; answered with a redirect to the login page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def logged_in(request: AnyRequest, session: Session, *roles: Role) -> Caller:
    """The person logged in on this browser, who must hold one of ``roles`` (any role if none)."""
    token = request.cookies.get(SESSION_COOKIE)
    user_id = session_user(session, token) if token else None
    caller = caller_for(session, user_id) if user_id is not None else None
    if caller is None:
        query = f"?{request.url.query}" if request.url.query else ""
        raise LoginRequired(request.url.path + query)
    if roles:
        caller.require(*roles)
    return caller
