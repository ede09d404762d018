"""Logins for people: a session cookie holding a random id (the session lives in the database,
accounts/logins.py), CSRF protection on their forms."""

from __future__ import annotations

from litestar.config.csrf import CSRFConfig
from litestar.datastructures import Cookie

from feedback.accounts.logins import SESSION_HOURS
from feedback.config import Settings
from feedback.keys import derive_key

SESSION_COOKIE = "feedback_session"
# Public survey pages and the token-authenticated API carry no login, so CSRF does not apply there.
CSRF_EXEMPT = ["^/api/", "^/s/", "^/p/", "^/thanks/", "^/schema"]


def session_cookie(settings: Settings, token: str) -> Cookie:
    """The cookie that carries a session id: HTTP only, same-site, secure behind HTTPS."""
    return Cookie(
        key=SESSION_COOKIE,
        value=token,
        max_age=SESSION_HOURS * 3600 if token else 0,
        path="/",
        secure=settings.base_url.startswith("https://"),
        httponly=True,
        samesite="lax",
    )


def csrf_config(settings: Settings) -> CSRFConfig:
    return CSRFConfig(
        secret=derive_key(settings, "csrf").hex(),
        cookie_name="feedback_csrf",
        cookie_secure=settings.base_url.startswith("https://"),
        cookie_samesite="strict",
        exclude=CSRF_EXEMPT,
    )
