"""/api/digests (the execution log, send now), a department's digest preview, /api/problems (the loop)."""

import logging
from datetime import UTC, datetime
from typing import Annotated, Literal

import msgspec
from litestar import Controller, MediaType, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from feedback.db import transaction
from feedback.departments.service import get_department, get_visible_department
from feedback.digests import log, loop, resend, schedule
from feedback.digests.log import AlertOut, DeliveryOut, RunOut
from feedback.digests.loop import ActionResult, ProblemOut
from feedback.errors import InvalidInput
from feedback.models import Role
from feedback.web.auth import READERS, authorize
from feedback.web.params import DepartmentSlug, RowId
from feedback.web.state import AnyRequest, AppContext

logger = logging.getLogger(__name__)

Limit = Annotated[int, QueryParameter(description="most rows, newest first", ge=1, le=1000)]
State = Annotated[str | None, QueryParameter(name="state", description="only rows in this state")]


class SendIn(msgspec.Struct, forbid_unknown_fields=True):
    department: str


class SendOut(msgspec.Struct):
    runs: list[RunOut]
    sent: int
    retrying: int
    failed: int


class ResendIn(msgspec.Struct, forbid_unknown_fields=True):
    """Which failed deliveries to send again (at least one; together they narrow the choice)."""

    run: Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)] | None = None
    department: str | None = None
    failed_since: datetime | None = None


class ResendOut(msgspec.Struct):
    requeued: int
    sent: int
    retrying: int
    failed: int


class ActionIn(msgspec.Struct, forbid_unknown_fields=True):
    note: Annotated[str, msgspec.Meta(max_length=2000)] | None = None


class DigestController(Controller):
    path = "/api"
    tags = ["digests"]

    @get("/digests/runs", sync_to_thread=True, summary="Digest runs with their state, newest first (readers)")
    def runs(
        self,
        request: AnyRequest,
        ctx: NamedDependency[AppContext],
        department: DepartmentSlug = None,
        state_: State = None,
        limit: Limit = 50,
    ) -> list[RunOut]:
        with transaction(ctx.sessions) as session:
            caller = authorize(request, session, *READERS)
            return log.list_runs(session, caller, department, state_, limit)

    @get("/digests/deliveries", sync_to_thread=True, summary="Deliveries with state, tries and last error")
    def deliveries(
        self,
        request: AnyRequest,
        ctx: NamedDependency[AppContext],
        department: DepartmentSlug = None,
        state_: State = None,
        run: RowId = None,
        limit: Limit = 100,
    ) -> list[DeliveryOut]:
        with transaction(ctx.sessions) as session:
            caller = authorize(request, session, *READERS)
            return log.list_deliveries(session, caller, department, state_, run, limit)

    @get("/digests/alerts", sync_to_thread=True, summary="Spike alerts and notices to the admins")
    def alerts(
        self,
        request: AnyRequest,
        ctx: NamedDependency[AppContext],
        department: DepartmentSlug = None,
        limit: Limit = 50,
    ) -> list[AlertOut]:
        with transaction(ctx.sessions) as session:
            caller = authorize(request, session, *READERS)
            return log.list_alerts(session, caller, department, limit)

    @post(
        "/digests/send", sync_to_thread=True, status_code=200, summary="Build and send a digest now (admin)"
    )
    def send(self, request: AnyRequest, ctx: NamedDependency[AppContext], data: JSONBody[SendIn]) -> SendOut:
        with transaction(ctx.sessions) as session:
            caller = authorize(request, session, Role.ADMIN)
            get_department(session, data.department, field="department")
        report = schedule.send_now(ctx.sessions, ctx.settings, data.department, datetime.now(UTC))
        ids = set(report.built + report.quiet + report.failed)
        with transaction(ctx.sessions) as session:
            runs = [r for r in log.list_runs(session, caller, data.department, limit=20) if r.id in ids]
        d = report.deliveries
        return SendOut(runs, d.sent, d.retrying, d.failed)

    @post(
        "/digests/resend",
        sync_to_thread=True,
        status_code=200,
        summary="Send failed deliveries again, once (admin): by run, department or failed since a time",
    )
    def resend_failed(
        self, request: AnyRequest, ctx: NamedDependency[AppContext], data: JSONBody[ResendIn]
    ) -> ResendOut:
        with transaction(ctx.sessions) as session:
            authorize(request, session, Role.ADMIN)
        since = data.failed_since
        if since is not None and since.tzinfo is None:
            raise InvalidInput.on("failed_since", "give a time zone (2026-12-06T08:00:00Z)")
        report = resend.resend(
            ctx.sessions,
            ctx.settings,
            datetime.now(UTC),
            run_id=data.run,
            department=data.department,
            failed_since=since,
        )
        d = report.deliveries
        return ResendOut(len(report.requeued), d.sent, d.retrying, d.failed)

    @get(
        "/departments/{slug:str}/digest/preview",
        sync_to_thread=True,
        media_type=MediaType.HTML,
        summary="The digest the department would get now, as HTML (readers of the department)",
    )
    def preview(
        self,
        request: AnyRequest,
        ctx: NamedDependency[AppContext],
        slug: FromPath[str],
        charts: Annotated[bool, QueryParameter(description="draw the charts (about 3 s)")] = True,
    ) -> Response[str]:
        with transaction(ctx.sessions) as session:
            caller = authorize(request, session, *READERS)
            get_visible_department(session, caller, slug)
        html, warnings = schedule.preview(ctx.sessions, ctx.settings, slug, datetime.now(UTC), charts=charts)
        # A warning's text (a chart's error) may hold any character: it goes to the log, and the header
        # says only how many there are (a control character in a header would break the answer).
        for warning in warnings:
            logger.warning("digest preview for %s: %s", slug, warning)
        headers = {"X-Feedback-Warnings": str(len(warnings))} if warnings else None
        return Response(html, media_type=MediaType.HTML, headers=headers)

    @get(
        "/problems", sync_to_thread=True, tags=["problems"], summary="Known problems and what became of them"
    )
    def problems(
        self, request: AnyRequest, ctx: NamedDependency[AppContext], state_: State = None
    ) -> list[ProblemOut]:
        with transaction(ctx.sessions) as session:
            caller = authorize(request, session, *READERS)
            return loop.list_problems(session, caller, state_)

    @get(
        "/problems/{cause:str}",
        sync_to_thread=True,
        tags=["problems"],
        summary="One problem with its history",
    )
    def problem(
        self, request: AnyRequest, ctx: NamedDependency[AppContext], cause: FromPath[str]
    ) -> ProblemOut:
        with transaction(ctx.sessions) as session:
            caller = authorize(request, session, *READERS)
            return loop.problem_detail(session, caller, cause)

    @post(
        "/problems/{cause:str}/{action:str}",
        sync_to_thread=True,
        status_code=200,
        tags=["problems"],
        summary="acknowledge, in_progress or fixed (admin, or the head of the owning department)",
    )
    def act(
        self,
        request: AnyRequest,
        ctx: NamedDependency[AppContext],
        cause: FromPath[str],
        action: FromPath[Literal["acknowledge", "in_progress", "fixed"]],
        data: JSONBody[ActionIn | None] = None,
    ) -> ActionResult:
        if action not in loop.NEW_STATE:
            raise InvalidInput.on("action", "expected acknowledge, in_progress or fixed")
        with transaction(ctx.sessions) as session:
            caller = authorize(request, session, Role.ADMIN, Role.DEPARTMENT_HEAD)
            note = data.note if data is not None else None
            return loop.act_as(session, ctx.settings, caller, cause, action, datetime.now(UTC), note)
