"""The pages behind the signed links in digests and alerts: GET shows what the link will do, POST does it.

Nothing changes on GET (mail scanners and link previews follow links). The link's signature is the
authority: no login is needed; the form carries the usual CSRF token.
"""

from __future__ import annotations

from datetime import UTC, datetime

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Template

from feedback.db import transaction
from feedback.digests import links, loop
from feedback.errors import FeedbackError
from feedback.keys import derive_key
from feedback.models import Cause, Department
from feedback.web.state import AnyRequest, AppContext

DONE = {
    "acknowledge": "Acknowledged. Thank you: the next digest will not nag about it.",
    "in_progress": "Marked as being fixed.",
    "fixed": "Marked fixed. The system now watches whether it stays fixed.",
}
# Where a cause stands, in plain words.
PLAIN_STATE = {
    "reported": "reported, waiting for an acknowledgement",
    "acknowledged": "acknowledged",
    "in_progress": "being fixed",
    "fixed": "marked fixed, and being watched",
    "verified": "fixed, and the fix held",
    "reopened": "reopened: it kept coming back after the fix",
}


def already_done(view: loop.FollowupView) -> str:
    """What was already done, by whom and when: shown instead of offering the action again."""
    text = f"Already done: this cause is {PLAIN_STATE[view.state]}"
    if view.since:
        text += f" since {view.since:%Y-%m-%d %H:%M} UTC"
    if view.actor:
        text += f" ({view.actor})"
    text += "."
    if view.note:
        text += f" Note: {view.note}"
    if view.state == "fixed" and view.verify_until:
        text += f" Watched until {view.verify_until:%Y-%m-%d}."
    return text + " Nothing to do here."


def _message(title: str, message: str, status: int) -> Template:
    return Template("message.html", context={"title": title, "message": message}, status_code=status)


class ActionPages(Controller):
    include_in_schema = False

    def _page(self, ctx: AppContext, token: str, done: str = "", status: int = 200) -> Template:
        claim = links.verify(derive_key(ctx.settings, "links"), token, datetime.now(UTC))
        with ctx.sessions() as session:
            cause = session.get(Cause, claim.cause_id)
            if cause is None:
                return _message("Not found", "This cause no longer exists.", 404)
            department = session.get(Department, cause.department_id) if cause.department_id else None
            view = loop.followup_view(session, cause.id)
        label = links.LABELS[claim.action]
        if not done and view is not None and view.state not in loop.ALLOWED_FROM[claim.action]:
            done = already_done(view)
            label = "Already done"
        context = {
            "title": f"{label}?" if not done else label,
            "cause_name": cause.name,
            "department": department.name if department else "",
            "state": PLAIN_STATE[view.state] if view else "",
            "action": claim.action,
            "action_url": f"/actions/{token}",
            "button": label,
            "done": done,
            "window_days": ctx.settings.verify_window_days,
        }
        return Template("action.html", context=context, status_code=status)

    @get("/actions/{token:str}", sync_to_thread=True)
    def confirm(self, ctx: NamedDependency[AppContext], token: FromPath[str]) -> Template:
        try:
            return self._page(ctx, token)
        except FeedbackError as error:
            return _message("This link cannot be used", error.message, error.status_code)

    @post("/actions/{token:str}", sync_to_thread=True, status_code=200)
    def act(
        self,
        request: AnyRequest,
        ctx: NamedDependency[AppContext],
        token: FromPath[str],
        data: URLEncodedBody[dict[str, str]],
    ) -> Template:
        now = datetime.now(UTC)
        try:
            claim = links.verify(derive_key(ctx.settings, "links"), token, now)
            with transaction(ctx.sessions) as session:
                cause = session.get(Cause, claim.cause_id)
                if cause is None:
                    return _message("Not found", "This cause no longer exists.", 404)
                department = session.get(Department, cause.department_id) if cause.department_id else None
                actor = f"link ({department.slug if department else 'no department'}"
                actor += f", digest {claim.run_id})" if claim.run_id else ", alert)"
                result = loop.act(session, ctx.settings, cause, claim.action, actor, now, data.get("note"))
            if not result.changed:
                return self._page(ctx, token)  # says what was already done
            return self._page(ctx, token, done=DONE[claim.action])
        except FeedbackError as error:
            return _message("This link cannot be used", error.message, error.status_code)
