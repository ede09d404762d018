"""Logins for people: a signed, encrypted session cookie, CSRF protection on their forms."""

from __future__ import annotations

from litestar.config.csrf import CSRFConfig
from litestar.middleware.session.client_side import CookieBackendConfig

from feedback.config import Settings
from feedback.keys import derive_key

SESSION_HOURS = 12
# Public survey pages and the token-authenticated API carry no login, so CSRF does not apply there.
CSRF_EXEMPT = ["^/api/", "^/s/", "^/p/", "^/thanks/", "^/schema"]


def session_config(settings: Settings) -> CookieBackendConfig:
    return CookieBackendConfig(
        secret=derive_key(settings, "session"),  # 32 bytes: AES-256-GCM
        key="feedback_session",
        max_age=SESSION_HOURS * 3600,
        secure=settings.base_url.startswith("https://"),
        httponly=True,
        samesite="lax",
        exclude=["^/api/", "^/s/", "^/p/", "^/static/"],  # no login there
    )


def csrf_config(settings: Settings) -> CSRFConfig:
    return CSRFConfig(
        secret=derive_key(settings, "csrf").hex(),
        cookie_name="feedback_csrf",
        cookie_secure=settings.base_url.startswith("https://"),
        cookie_samesite="strict",
        exclude=CSRF_EXEMPT,
    )
