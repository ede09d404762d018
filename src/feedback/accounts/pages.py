"""Signing in and out of the dashboards."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import URLEncodedBody
from litestar.response import Redirect, Template

from feedback.accounts.login_throttle import attempt_succeeded, claim_attempt
from feedback.accounts.logins import end_session, start_session
from feedback.accounts.users import check_password
from feedback.db import transaction
from feedback.errors import Unauthorized
from feedback.web.session import SESSION_COOKIE, session_cookie
from feedback.web.state import AnyRequest, AppContext


def safe_next(path: str | None) -> str:
    """Only a path on this site: never another host (open redirect)."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\\\" in path:
        return "/dashboards"
    return path


def _minutes(seconds: int) -> str:
    minutes = -(-seconds // 60)
    return f"{minutes} minute{'s' if minutes > 1 else ''}"


class LoginPages(Controller):
    include_in_schema = False

    @get("/login", sync_to_thread=False)
    def form(self, request: AnyRequest) -> Template:
        next_path = safe_next(request.query_params.get("next"))
        return Template(
            "login.html", context={"title": "Sign in", "next": next_path, "email": "", "error": ""}
        )

    @post("/login", sync_to_thread=True)
    def login(
        self, request: AnyRequest, ctx: NamedDependency[AppContext], data: URLEncodedBody[dict[str, str]]
    ) -> Template | Redirect:
        email, next_path = data.get("email", ""), safe_next(data.get("next"))
        address = ctx.limits.client(request.scope)
        context = {"title": "Sign in", "next": next_path, "email": email}
        # Counted before the password is checked, in its own transaction: a burst of guesses is cut at the
        # limit, and while locked even the right password waits, or guessing would go on.
        with transaction(ctx.sessions) as session:
            wait = claim_attempt(session, ctx.settings, email, address)
        if wait:
            context["error"] = f"Too many failed sign-ins. Please try again in {_minutes(wait)}."
            return Template(
                "login.html", context=context, status_code=429, headers={"Retry-After": str(wait)}
            )
        try:
            with transaction(ctx.sessions) as session:
                user = check_password(session, email, data.get("password", ""))
                attempt_succeeded(session, ctx.settings, email, address)
                previous = request.cookies.get(SESSION_COOKIE)
                if previous:
                    end_session(session, previous)
                token = start_session(session, user.id)
        except Unauthorized as error:
            return Template("login.html", context={**context, "error": error.message}, status_code=401)
        return Redirect(next_path, status_code=303, cookies=[session_cookie(ctx.settings, token)])

    @post("/logout", sync_to_thread=True)
    def logout(self, request: AnyRequest, ctx: NamedDependency[AppContext]) -> Redirect:
        """The session ends on the server: a copy of the cookie opens nothing afterwards."""
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            with transaction(ctx.sessions) as session:
                end_session(session, token)
        return Redirect("/login", status_code=303, cookies=[session_cookie(ctx.settings, "")])
