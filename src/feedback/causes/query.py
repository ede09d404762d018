"""What the API shows about causes: the list with each cause's latest ledger row, and one cause in full."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import msgspec
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from feedback.accounts.access import Caller
from feedback.causes.analyze import last_complete_run
from feedback.causes.decisions import get_cause
from feedback.causes.ledger import latest_ledger, ledger_of
from feedback.errors import NotFound
from feedback.models import Cause, CauseAssignment, CauseEvent, CauseStatus, Department
from feedback.privacy import exposure


class LedgerOut(msgspec.Struct):
    period: str
    period_start: date
    count: int
    share: float
    nps_points_lost: float | None
    csat_points_lost: float | None
    first_seen_at: datetime
    last_seen_at: datetime
    trend: str


class EventOut(msgspec.Struct):
    kind: str
    at: datetime
    actor: str | None
    related: str | None
    detail: dict[str, Any]


class CauseOut(msgspec.Struct):
    id: str
    name: str
    status: str
    origin: str
    department: str | None
    suggested_department: str | None
    label: str
    description: str
    keywords: list[str]
    size: int
    first_seen_at: datetime | None
    last_seen_at: datetime | None
    merged_into: str | None
    latest: LedgerOut | None
    verbatims: list[str]
    # How alike its items are: their mean confidence at the last run (for a discovered cause, the mean cosine
    # to its centroid; 1: all say the same). None: no items.
    cohesion: float | None = None


class RunOut(msgspec.Struct):
    """The last complete analysis: how much of the negative feedback its causes explain."""

    run: int
    engine: str
    finished_at: datetime | None
    items_total: int
    items_negative: int
    items_assigned: int  # to a known cause
    items_clustered: int  # into a repeated discovered cause
    items_unexplained: int  # fit no known cause and no repeated cluster
    coverage: float  # share of the negative items explained
    summary: str  # "412 negative comments fit no repeated cause (coverage 96%)"
    resolution: float | None  # discovery's Leiden resolution (chosen from the data unless set)


class CauseDetailOut(msgspec.Struct):
    cause: CauseOut
    ledger: list[LedgerOut]
    history: list[EventOut]
    examples: list[str]


def _ledger_out(row: Any) -> LedgerOut:
    return LedgerOut(
        row.period, row.period_start, row.count, round(row.share, 6),
        None if row.nps_points_lost is None else round(row.nps_points_lost, 3),
        None if row.csat_points_lost is None else round(row.csat_points_lost, 3),
        row.first_seen_at, row.last_seen_at, row.trend,
    )  # fmt: skip


def _department_of(cause: Cause) -> int | None:
    return cause.department_id if cause.department_id is not None else cause.suggested_department_id


def visible(cause: Cause, scope: int | None) -> bool:
    """A department head sees the causes their department owns (or, for candidates, is suggested to own)."""
    return scope is None or _department_of(cause) == scope


def cohesion_of(session: Session, cause_ids: list[int]) -> dict[int, float]:
    """Mean confidence of each cause's current assignments."""
    if not cause_ids:
        return {}
    rows = session.execute(
        select(CauseAssignment.cause_id, func.avg(CauseAssignment.confidence))
        .where(CauseAssignment.cause_id.in_(cause_ids))
        .group_by(CauseAssignment.cause_id)
    ).all()
    return {cause_id: round(float(mean), 4) for cause_id, mean in rows if mean is not None}


def describe(
    session: Session, cause: Cause, latest: Any | None, slugs: dict[int, str], cohesion: float | None = None
) -> CauseOut:
    keys = dict(session.execute(select(Cause.id, Cause.key)).all()) if cause.merged_into_id else {}
    return CauseOut(
        id=cause.key,
        name=cause.name,
        status=cause.status,
        origin=cause.origin,
        department=slugs.get(cause.department_id) if cause.department_id else None,
        suggested_department=slugs.get(cause.suggested_department_id)
        if cause.suggested_department_id
        else None,
        label=cause.label,
        description=cause.description,
        keywords=list(cause.keywords),
        size=cause.size,
        first_seen_at=cause.first_seen_at,
        last_seen_at=cause.last_seen_at,
        merged_into=keys.get(cause.merged_into_id) if cause.merged_into_id else None,
        latest=_ledger_out(latest) if latest is not None else None,
        verbatims=list(cause.verbatims),
        cohesion=cohesion,
    )


def _slugs(session: Session) -> dict[int, str]:
    return dict(session.execute(select(Department.id, Department.slug)).all())


def list_causes(
    session: Session,
    scope: int | None,
    statuses: tuple[str, ...] = (CauseStatus.ACTIVE, CauseStatus.CANDIDATE),
) -> list[CauseOut]:
    """Causes with these statuses, the caller's department only if scoped; most frequent first."""
    slugs = _slugs(session)
    latest = latest_ledger(session)
    causes = session.scalars(select(Cause).where(Cause.status.in_(statuses))).all()
    shown = [c for c in causes if visible(c, scope)]
    shown.sort(key=lambda c: (-c.size, c.key))
    cohesion = cohesion_of(session, [c.id for c in shown])
    return [describe(session, c, latest.get(c.id), slugs, cohesion.get(c.id)) for c in shown]


def cause_detail(session: Session, key: str, scope: int | None, examples: int = 10) -> CauseDetailOut:
    cause = get_cause(session, key)
    if not visible(cause, scope):
        raise NotFound(f"no cause {key!r}")
    slugs = _slugs(session)
    keys = dict(session.execute(select(Cause.id, Cause.key)).all())
    ledger = ledger_of(session, cause.id)
    cohesion = cohesion_of(session, [cause.id])
    events = session.scalars(
        select(CauseEvent).where(CauseEvent.cause_id == cause.id).order_by(CauseEvent.at, CauseEvent.id)
    ).all()
    history = [
        EventOut(
            e.kind, e.at, e.actor, keys.get(e.related_cause_id) if e.related_cause_id else None, e.detail
        )
        for e in events
    ]
    return CauseDetailOut(
        cause=describe(session, cause, ledger[-1] if ledger else None, slugs, cohesion.get(cause.id)),
        ledger=[_ledger_out(r) for r in ledger],
        history=history,
        examples=_examples(session, cause.id, examples),
    )


def _examples(session: Session, cause_id: int, limit: int) -> list[str]:
    """The most confident recent verbatims assigned to the cause."""
    from feedback.models import Answer, Mention

    rows = session.execute(
        select(CauseAssignment).where(CauseAssignment.cause_id == cause_id)
        .order_by(CauseAssignment.confidence.desc(), CauseAssignment.occurred_at.desc(), CauseAssignment.id)
        .limit(limit)
    ).scalars().all()  # fmt: skip
    out: list[str] = []
    for a in rows:
        if a.item_kind == "answer":
            text = session.scalar(
                select(Answer.text).where(
                    Answer.response_id == a.response_id, Answer.question_id == a.question_id
                )
            )
        else:
            text = session.scalar(select(Mention.text).where(Mention.id == a.mention_id))
        if text:
            out.append(text)
    return out


def unexplained_sentence(unexplained: int, coverage: float) -> str:
    comments = "comment fits" if unexplained == 1 else "comments fit"
    return f"{unexplained:,} negative {comments} no repeated cause (coverage {coverage:.0%})"


def latest_run(session: Session) -> RunOut:
    run = last_complete_run(session)
    if run is None:
        raise NotFound("no complete analysis run yet (feedback analyze)")
    unexplained = run.items_negative - run.items_assigned - run.items_clustered
    coverage = 1 - unexplained / run.items_negative if run.items_negative else 0.0
    resolution = (run.params or {}).get("resolution_used")
    return RunOut(
        run=run.id, engine=run.engine, finished_at=run.finished_at, items_total=run.items_total,
        items_negative=run.items_negative, items_assigned=run.items_assigned,
        items_clustered=run.items_clustered, items_unexplained=unexplained, coverage=round(coverage, 4),
        summary=unexplained_sentence(unexplained, coverage),
        resolution=round(float(resolution), 4) if resolution is not None else None,
    )  # fmt: skip


def run_status(session: Session) -> dict[str, Any] | None:
    run = last_complete_run(session)
    if run is None:
        return None
    total = session.scalar(select(func.count()).select_from(CauseAssignment))
    return {"run": run.id, "finished_at": run.finished_at, "assignments": total}


def read_causes(session: Session, caller: Caller, statuses: tuple[str, ...]) -> list[CauseOut]:
    """The causes ``caller`` may see (their department's, for a head), verbatims redacted for them."""
    return exposure.causes(caller, list_causes(session, caller.scope(), statuses))


def read_cause(session: Session, caller: Caller, key: str, examples: int = 10) -> CauseDetailOut:
    """One cause if ``caller`` may see it (else NotFound), ``examples`` verbatims redacted for them."""
    return exposure.cause_detail(caller, cause_detail(session, key, caller.scope(), examples))
