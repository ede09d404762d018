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
from sqlalchemy import select

from feedback.db import transaction
from feedback.errors import FeedbackError
from feedback.keys import derive_key
from feedback.models import Cause, CauseFollowup, Department
from feedback.services.digests import links, loop
from feedback.web.state import AnyRequest, AppContext

DONE = {
    "acknowledge": "Acknowledged. Thank you: the next digest will not nag about it.",
    "in_progress": "Marked as being fixed.",
    "fixed": "Marked fixed. The system now watches whether it stays fixed.",
}
ALREADY = "Nothing to change: it is already {state}."


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
            state = session.scalar(select(CauseFollowup.state).where(CauseFollowup.cause_id == cause.id))
        label = links.LABELS[claim.action]
        context = {
            "title": f"{label}?" if not done else label,
            "cause_name": cause.name,
            "department": department.name if department else "",
            "state": str(state).replace("_", " ") if state else "",
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
            message = (
                DONE[claim.action] if result.changed else ALREADY.format(state=result.state.replace("_", " "))
            )
            return self._page(ctx, token, done=message)
        except FeedbackError as error:
            return _message("This link cannot be used", error.message, error.status_code)
