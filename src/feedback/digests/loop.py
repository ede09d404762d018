"""The learning loop: a reported cause is acknowledged, its fix is in progress, it is fixed, and then the
system checks that the fix held (verified) or brings the cause back (reopened).

State lives in ``cause_followups`` (one row per cause); each change is also a row of the cause's history in
``cause_events`` (kinds reported, acknowledged, in_progress, fixed, verified, reopened), so the history read
through the API is a database of known problems and what was done about them.

Every function takes ``now`` and is safe to run twice: an action that is already done changes nothing, and
the verifier moves a fix on with a conditional UPDATE, so two schedulers record one verdict.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from feedback.accounts.access import Caller
from feedback.analysis.verification import FixVerdict, judge_fix
from feedback.causes.analyze import last_complete_run
from feedback.causes.decisions import get_cause
from feedback.causes.events import record
from feedback.config import Settings
from feedback.db import transaction
from feedback.errors import InvalidInput, NotFound
from feedback.models import (
    Cause,
    CauseAssignment,
    CauseEvent,
    CauseFollowup,
    Department,
    FollowupState,
)

log = logging.getLogger(__name__)

BEFORE_DAYS = 28  # the rate before a fix is measured over at most this many days
LOOP_KINDS = ("reported", "acknowledged", "in_progress", "fixed", "verified", "reopened")
# Which actions move a cause from which states (an action from any other state changes nothing).
ALLOWED_FROM: dict[str, tuple[FollowupState | None, ...]] = {
    "acknowledge": (None, FollowupState.REPORTED, FollowupState.REOPENED, FollowupState.VERIFIED),
    "in_progress": (
        None,
        FollowupState.REPORTED,
        FollowupState.ACKNOWLEDGED,
        FollowupState.REOPENED,
        FollowupState.VERIFIED,
        FollowupState.FIXED,
    ),
    "fixed": (
        None,
        FollowupState.REPORTED,
        FollowupState.ACKNOWLEDGED,
        FollowupState.IN_PROGRESS,
        FollowupState.REOPENED,
        FollowupState.VERIFIED,
    ),
}
NEW_STATE = {
    "acknowledge": FollowupState.ACKNOWLEDGED,
    "in_progress": FollowupState.IN_PROGRESS,
    "fixed": FollowupState.FIXED,
}
EVENT_KIND = {"acknowledge": "acknowledged", "in_progress": "in_progress", "fixed": "fixed"}


def _event(
    session: Session, cause: Cause, kind: str, now: datetime, actor: str, detail: dict[str, Any]
) -> None:
    """A cause_events row at ``now`` (the causes service stamps the wall clock; the loop runs on ``now``)."""
    event = record(session, cause, kind, actor=actor, detail=detail)
    event.at = now


@dataclass(frozen=True)
class FollowupView:
    """Where a cause stands: its state, since when, who moved it there and their note."""

    state: FollowupState
    since: datetime | None
    actor: str | None
    note: str | None
    verify_until: datetime | None


def followup_view(session: Session, cause_id: int) -> FollowupView | None:
    followup = _followup(session, cause_id)
    if followup is None:
        return None
    state = FollowupState(followup.state)
    event = session.scalar(
        select(CauseEvent)
        .where(CauseEvent.cause_id == cause_id, CauseEvent.kind == str(state))
        .order_by(CauseEvent.at.desc(), CauseEvent.id.desc())
        .limit(1)
    )
    since = {
        FollowupState.REPORTED: followup.last_reported_at,
        FollowupState.ACKNOWLEDGED: followup.acknowledged_at,
        FollowupState.IN_PROGRESS: followup.in_progress_at,
        FollowupState.FIXED: followup.fixed_at,
        FollowupState.VERIFIED: followup.verified_at,
        FollowupState.REOPENED: followup.reopened_at,
    }[state]
    note = (event.detail or {}).get("note") if event is not None else None
    if state == FollowupState.FIXED:
        note = followup.fix_note or note
    return FollowupView(
        state, since or followup.updated_at, event.actor if event else None, note, followup.verify_until
    )


def _followup(session: Session, cause_id: int) -> CauseFollowup | None:
    return session.scalar(select(CauseFollowup).where(CauseFollowup.cause_id == cause_id))


def count_items(session: Session, cause_id: int, start: datetime, end: datetime) -> int:
    """Feedback items assigned to the cause that occurred in [start, end)."""
    query = select(func.count()).where(
        CauseAssignment.cause_id == cause_id,
        CauseAssignment.occurred_at >= start,
        CauseAssignment.occurred_at < end,
    )
    return int(session.scalar(query) or 0)


def _rate_before(session: Session, cause_id: int, fixed_at: datetime) -> tuple[int, float]:
    """(items, days) over the days before the fix: at most BEFORE_DAYS, at least one day."""
    start = fixed_at - timedelta(days=BEFORE_DAYS)
    first = session.scalar(
        select(func.min(CauseAssignment.occurred_at)).where(
            CauseAssignment.cause_id == cause_id,
            CauseAssignment.occurred_at >= start,
            CauseAssignment.occurred_at < fixed_at,
        )
    )
    count = count_items(session, cause_id, start, fixed_at)
    if first is None:
        return count, float(BEFORE_DAYS)
    days = (fixed_at - first).total_seconds() / 86_400
    return count, min(float(BEFORE_DAYS), max(1.0, days))


@dataclass(frozen=True)
class ActionResult:
    cause: str
    action: str
    state: str
    changed: bool  # False: it was already done (or a later step was)


def act_as(
    session: Session,
    settings: Settings,
    caller: Caller,
    key: str,
    action: str,
    now: datetime,
    note: str | None = None,
) -> ActionResult:
    """``act`` on cause ``key`` for ``caller`` (an admin, or the head of the owning department); another
    department's cause is as unknown as one that does not exist."""
    cause = get_cause(session, key)
    if not caller.may_see(cause.department_id):
        raise NotFound(f"no cause {key!r}")  # nothing learnt of other departments
    return act(session, settings, cause, action, caller.name, now, note)


def act(
    session: Session,
    settings: Settings,
    cause: Cause,
    action: str,
    actor: str,
    now: datetime,
    note: str | None = None,
) -> ActionResult:
    """Acknowledge a cause, mark its fix in progress, or mark it fixed (which starts the verification)."""
    if action not in NEW_STATE:
        raise InvalidInput.on("action", "expected acknowledge, in_progress or fixed")
    note = (note or "").strip()[:2000] or None
    followup = _followup(session, cause.id)
    current = followup.state if followup is not None else None
    if current not in ALLOWED_FROM[action]:
        return ActionResult(cause.key, action, str(current), False)
    if followup is None:
        followup = CauseFollowup(cause_id=cause.id, state=NEW_STATE[action], updated_at=now)
        session.add(followup)
    followup.state = NEW_STATE[action]
    followup.updated_at = now
    detail: dict[str, Any] = {"note": note} if note else {}
    if action == "acknowledge":
        followup.acknowledged_at = now
    elif action == "in_progress":
        followup.in_progress_at = now
        followup.fixed_at = followup.verify_until = None
    else:
        count, days = _rate_before(session, cause.id, now)
        followup.fixed_at = now
        followup.fix_note = note
        followup.verify_until = now + timedelta(days=settings.verify_window_days)
        followup.count_before = count
        followup.rate_before = count / days
        followup.verified_at = None
        detail.update(
            count_before=count,
            days_before=round(days, 1),
            rate_before=round(count / days, 3),
            verify_until=followup.verify_until.isoformat(),
        )
    session.flush()
    _event(session, cause, EVENT_KIND[action], now, actor, detail)
    return ActionResult(cause.key, action, followup.state, True)


def note_reported(session: Session, causes: list[Cause], now: datetime, ack_days: int, actor: str) -> None:
    """Causes a digest carried: start their acknowledgement clock (once), or again after a verified fix."""
    for cause in causes:
        followup = _followup(session, cause.id)
        if followup is None:
            followup = CauseFollowup(cause_id=cause.id, state=FollowupState.REPORTED, updated_at=now)
            session.add(followup)
        elif followup.state != FollowupState.VERIFIED:
            followup.last_reported_at = now
            continue
        followup.state = FollowupState.REPORTED
        followup.first_reported_at = followup.first_reported_at or now
        followup.last_reported_at = now
        followup.ack_due_at = now + timedelta(days=ack_days)
        followup.updated_at = now
        session.flush()
        _event(session, cause, "reported", now, actor, {"acknowledge_by": followup.ack_due_at.isoformat()})


@dataclass(frozen=True)
class Verdict:
    cause: str
    outcome: str
    reason: str


def _judge(
    session: Session, settings: Settings, followup: CauseFollowup, covered_until: datetime
) -> FixVerdict:
    assert followup.fixed_at is not None and followup.verify_until is not None
    end = min(covered_until, followup.verify_until)
    observed = max(0.0, (end - followup.fixed_at).total_seconds() / 86_400)
    count_after = count_items(session, followup.cause_id, followup.fixed_at, end) if observed > 0 else 0
    count_before = followup.count_before or 0
    rate = followup.rate_before or 0.0
    days_before = count_before / rate if rate > 0 else float(BEFORE_DAYS)
    return judge_fix(
        count_before,
        days_before,
        count_after,
        observed,
        window_days=(followup.verify_until - followup.fixed_at).total_seconds() / 86_400,
        max_ratio=settings.verify_max_ratio,
        min_count=settings.verify_min_count,
    )


def verify_fixes(sessions: sessionmaker[Session], settings: Settings, now: datetime) -> list[Verdict]:
    """Judge every fixed cause whose window has been analysed far enough: verified, reopened or pending.

    Assignments come from `feedback analyze`; what happened after the last complete analysis run started is
    unknown, so a window is judged only as far as that run covers it (a fix is never verified because the
    analysis has not run since).
    """
    verdicts: list[Verdict] = []
    with sessions() as session:
        run = last_complete_run(session)
        ids = session.scalars(
            select(CauseFollowup.id).where(CauseFollowup.state == FollowupState.FIXED)
        ).all()
    if run is None:
        return verdicts
    covered_until = min(now, run.started_at)
    for followup_id in ids:
        with transaction(sessions) as session:
            followup = session.get(CauseFollowup, followup_id)
            if followup is None or followup.state != FollowupState.FIXED or followup.fixed_at is None:
                continue
            verdict = _judge(session, settings, followup, covered_until)
            if verdict.outcome == "pending":
                continue
            state = FollowupState.VERIFIED if verdict.outcome == "verified" else FollowupState.REOPENED
            moved = session.execute(
                update(CauseFollowup)
                .where(CauseFollowup.id == followup_id, CauseFollowup.state == FollowupState.FIXED)
                .values(state=state, updated_at=now)
                .execution_options(synchronize_session=False)
            )
            if getattr(moved, "rowcount", 0) != 1:
                continue  # another process judged it first
            cause = session.get(Cause, followup.cause_id)
            assert cause is not None
            session.refresh(followup)
            if state == FollowupState.VERIFIED:
                followup.verified_at = now
            else:
                department = session.get(Department, cause.department_id) if cause.department_id else None
                followup.reopened_at = now
                followup.ack_due_at = now + timedelta(days=department.acknowledge_days if department else 7)
            detail = {
                "reason": verdict.reason,
                "rate_before": round(verdict.rate_before, 3),
                "rate_after": None if verdict.rate_after is None else round(verdict.rate_after, 3),
                "allowed": round(verdict.allowed, 2),
            }
            _event(session, cause, str(state), now, "verification", detail)
            log.info("fix of cause %s %s: %s", cause.key, state, verdict.reason)
            verdicts.append(Verdict(cause.key, str(state), verdict.reason))
    return verdicts


# -- reading: the known problems and what became of them -----------------------------------------------------


class LoopEventOut(msgspec.Struct):
    kind: str
    at: datetime
    actor: str | None
    detail: dict[str, Any]


class ProblemOut(msgspec.Struct):
    cause: str
    name: str
    department: str | None
    state: str
    first_reported_at: datetime | None
    last_reported_at: datetime | None
    acknowledge_by: datetime | None
    acknowledged_at: datetime | None
    in_progress_at: datetime | None
    fixed_at: datetime | None
    fix_note: str | None
    verify_until: datetime | None
    rate_before_per_day: float | None
    verified_at: datetime | None
    reopened_at: datetime | None
    history: list[LoopEventOut] | None = None


def _problem(cause: Cause, followup: CauseFollowup, slugs: dict[int, str]) -> ProblemOut:
    return ProblemOut(
        cause=cause.key,
        name=cause.name,
        department=slugs.get(cause.department_id) if cause.department_id else None,
        state=followup.state,
        first_reported_at=followup.first_reported_at,
        last_reported_at=followup.last_reported_at,
        acknowledge_by=followup.ack_due_at,
        acknowledged_at=followup.acknowledged_at,
        in_progress_at=followup.in_progress_at,
        fixed_at=followup.fixed_at,
        fix_note=followup.fix_note,
        verify_until=followup.verify_until,
        rate_before_per_day=None if followup.rate_before is None else round(followup.rate_before, 3),
        verified_at=followup.verified_at,
        reopened_at=followup.reopened_at,
    )


def list_problems(session: Session, caller: Caller, state: str | None = None) -> list[ProblemOut]:
    """Every cause that entered the loop that ``caller`` may see (their department's, for a head), most
    recently changed first."""
    scope = caller.scope()
    slugs = dict(session.execute(select(Department.id, Department.slug)).all())
    query = (
        select(Cause, CauseFollowup)
        .join(CauseFollowup, CauseFollowup.cause_id == Cause.id)
        .order_by(CauseFollowup.updated_at.desc(), Cause.key)
    )
    if scope is not None:
        query = query.where(Cause.department_id == scope)
    if state:
        if state not in {s.value for s in FollowupState}:
            known = ", ".join(s.value for s in FollowupState)
            raise InvalidInput.on("state", f"unknown state {state!r} (choose from {known})")
        query = query.where(CauseFollowup.state == state)
    return [_problem(cause, followup, slugs) for cause, followup in session.execute(query)]


def problem_detail(session: Session, caller: Caller, key: str) -> ProblemOut:
    """One cause's loop state with its whole history (all of its cause events, oldest first), if ``caller``
    may see it (else NotFound, as for an unknown cause)."""
    cause = get_cause(session, key)
    if not caller.may_see(cause.department_id):
        raise NotFound(f"no cause {key!r}")
    followup = _followup(session, cause.id) or CauseFollowup(cause_id=cause.id, state="unreported")
    slugs = dict(session.execute(select(Department.id, Department.slug)).all())
    out = _problem(cause, followup, slugs)
    events = session.scalars(
        select(CauseEvent).where(CauseEvent.cause_id == cause.id).order_by(CauseEvent.at, CauseEvent.id)
    )
    out.history = [LoopEventOut(e.kind, e.at, e.actor, dict(e.detail)) for e in events]
    return out
