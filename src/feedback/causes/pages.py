"""A cause's page (from every cause name and bar on the dashboards): how often it came back week by week,
its follow-up in plain words with the history, and every comment and mention behind it, a page at a time.

A department head of the owning department (and an admin) can acknowledge, start or mark fixed from here:
the same state machine and checks as the digests' action links (digests/loop.py), through a
CSRF-protected form. An admin reviews candidate causes here (accept with an owner, or dismiss).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import polars as pl
from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.orm import Session

from feedback.accounts.access import Caller
from feedback.analysis.figures import cause_trend_figure, to_embed
from feedback.causes import decisions
from feedback.causes.evidence import read_evidence
from feedback.causes.followup import followup_status, loop_history
from feedback.causes.query import read_cause, read_causes
from feedback.dashboards.access import visible_dashboards
from feedback.dashboards.cache import cache_for, data_fingerprint
from feedback.dashboards.library import load_library
from feedback.db import transaction
from feedback.digests import loop
from feedback.digests.links import LABELS
from feedback.errors import Forbidden, InvalidInput, NotFound
from feedback.models import CauseStatus, Department, Role
from feedback.outcomes.report import RISK_NOTE, risk_by_cause_key, risk_words
from feedback.web import assets
from feedback.web.auth import logged_in
from feedback.web.state import AnyRequest, AppContext

PAGE_SIZE = 25
DONE = {
    "acknowledge": "Acknowledged.",
    "in_progress": "Marked as being fixed.",
    "fixed": "Marked fixed: the system now watches whether it stays fixed.",
    "accepted": "Accepted: the cause joins the taxonomy with its owner.",
    "dismissed": "Dismissed: the next analysis will not suggest it again.",
}


def _may_act(caller: Caller, department_id: int | None) -> bool:
    """Heads of the owning department and admins move a cause through the loop; executives read."""
    if caller.role == Role.ADMIN:
        return True
    return caller.role == Role.DEPARTMENT_HEAD and department_id is not None and caller.may_see(department_id)


def _frame(ledger: list[Any], key: str, name: str) -> pl.DataFrame:
    rows = [(r.period_start, key, name, r.count, r.share) for r in ledger]
    schema = {
        "period_start": pl.Date,
        "cause_id": pl.String,
        "cause": pl.String,
        "count": pl.Int64,
        "share": pl.Float64,
    }
    return pl.DataFrame(rows, schema=schema, orient="row")


def _base(ctx: AppContext, caller: Caller, title: str) -> dict[str, Any]:
    library = load_library(ctx.settings.dashboards_dir or None)
    return {
        "title": title,
        "dashboard": None,
        "nav": visible_dashboards(library, caller),
        "viewer": f"{caller.name} ({caller.role.replace('_', ' ')})",
        "assets": assets.asset_urls(),
        "standalone": False,
    }


def cause_risk_words(ctx: AppContext, session: Session, key: str) -> str | None:
    """The cause's revenue at risk in words (None without outcomes); every cause's is computed at once and
    kept in the dashboards' cache while the data stays the same."""
    cache = cache_for(ctx.settings.database_url, ctx.settings.dashboard_cache_s)
    risks = cache.get_or_compute(
        ("revenue-at-risk",), data_fingerprint(session), lambda: risk_by_cause_key(ctx.engine)
    )
    return risk_words(risks, key)


class CausePages(Controller):
    include_in_schema = False

    @get("/causes", sync_to_thread=True)
    def candidates(self, request: AnyRequest, ctx: NamedDependency[AppContext]) -> Template:
        """The causes the analysis found and nobody has reviewed yet (candidates), most frequent first."""
        with transaction(ctx.sessions) as session:
            caller = logged_in(request, session)
            found = read_causes(session, caller, (CauseStatus.CANDIDATE,))
        context = _base(ctx, caller, "Causes to review")
        context.update(causes=found, is_admin=caller.role == Role.ADMIN)
        return Template("dashboards/candidates.html", context=context)

    @get("/causes/{key:str}", sync_to_thread=True)
    def page(self, request: AnyRequest, ctx: NamedDependency[AppContext], key: FromPath[str]) -> Template:
        cursor = request.query_params.get("cursor") or None
        with transaction(ctx.sessions) as session:
            caller = logged_in(request, session)
            detail = read_cause(session, caller, key, examples=0)
            cause = decisions.get_cause(session, key)
            evidence = read_evidence(session, caller, key, PAGE_SIZE, cursor)
            status = followup_status(session, [cause.id]).get(cause.id)
            history = loop_history(session, cause.id)
            owner_id = cause.department_id or cause.suggested_department_id
            owner = session.get(Department, owner_id) if owner_id else None
            departments = session.execute(select(Department.slug, Department.name).order_by(Department.name))
            department_choices = [(slug, name) for slug, name in departments]
            risk = cause_risk_words(ctx, session, key)
        ledger = _frame(detail.ledger, detail.cause.id, detail.cause.name)
        figure = None
        if ledger.height:
            title = f"Times raised per {'week' if ledger.height < 2 or _weekly(ledger) else 'period'}"
            figure = to_embed(cause_trend_figure(ledger, title))
        context = _base(ctx, caller, detail.cause.name)
        context.update(
            cause=detail.cause,
            owner=owner.name if owner else None,
            candidate=detail.cause.status == CauseStatus.CANDIDATE,
            status=status,
            history=history,
            evidence=evidence,
            first_page=cursor is None,
            figure=figure,
            total=sum(r.count for r in detail.ledger),
            may_act=_may_act(caller, cause.department_id) and cause.status == CauseStatus.ACTIVE,
            may_review=caller.role == Role.ADMIN and detail.cause.status == CauseStatus.CANDIDATE,
            actions=[(a, LABELS[a]) for a in loop.NEW_STATE if _allowed(status, a)],
            departments=department_choices,
            done=DONE.get(request.query_params.get("done") or ""),
            risk=risk,
            risk_note=RISK_NOTE,
        )
        return Template("dashboards/cause.html", context=context)

    @post("/causes/{key:str}/follow-up", sync_to_thread=True)
    def act(
        self,
        request: AnyRequest,
        ctx: NamedDependency[AppContext],
        key: FromPath[str],
        data: URLEncodedBody[dict[str, str]],
    ) -> Redirect:
        action = data.get("action", "")
        with transaction(ctx.sessions) as session:
            caller = logged_in(request, session)
            cause = decisions.get_cause(session, key)
            if not caller.may_see(cause.department_id or cause.suggested_department_id):
                raise NotFound(f"no cause {key!r}")  # as on the page: others' causes do not exist here
            if not _may_act(caller, cause.department_id):
                raise Forbidden("only a head of the owning department or an admin can change this")
            if cause.status != CauseStatus.ACTIVE:
                raise InvalidInput.on("action", "a candidate is reviewed by an admin first")
            actor = f"{caller.name} (dashboard)"
            loop.act(session, ctx.settings, cause, action, actor, datetime.now(UTC), data.get("note"))
        return Redirect(f"/causes/{cause.key}?done={action}", status_code=303)

    @post("/causes/{key:str}/review", sync_to_thread=True)
    def review(
        self,
        request: AnyRequest,
        ctx: NamedDependency[AppContext],
        key: FromPath[str],
        data: URLEncodedBody[dict[str, str]],
    ) -> Redirect:
        with transaction(ctx.sessions) as session:
            caller = logged_in(request, session, Role.ADMIN)
            if data.get("decision") == "accept":
                cause = decisions.accept(session, key, data.get("department", ""), caller.name)
                done = "accepted"
            elif data.get("decision") == "dismiss":
                cause = decisions.dismiss(session, key, caller.name, data.get("reason") or None)
                done = "dismissed"
            else:
                raise InvalidInput.on("decision", "expected accept or dismiss")
            new_key = cause.key
        return Redirect(f"/causes/{new_key}?done={done}", status_code=303)


def _weekly(ledger: pl.DataFrame) -> bool:
    days = ledger.get_column("period_start").sort().diff().drop_nulls().dt.total_days()
    return bool(days.len() == 0 or days.min() == 7)


def _allowed(status: Any, action: str) -> bool:
    current = status.state if status is not None else None
    return current in loop.ALLOWED_FROM[action]
