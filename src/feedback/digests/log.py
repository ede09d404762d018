"""The execution log: digest runs with their state, deliveries with theirs (and their last error), alerts.

What `feedback digests log` prints and GET /api/digests/{runs,deliveries,alerts} return. A department
head's scope limits every list to their own department.
"""

from __future__ import annotations

from datetime import datetime

import msgspec
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from feedback.accounts.access import Caller
from feedback.errors import InvalidInput
from feedback.models import Alert, Delivery, DeliveryState, Department, DigestRun, RunStatus

MAX_LIMIT = 1000


class RunOut(msgspec.Struct):
    id: int
    department: str
    period_key: str
    kind: str
    state: str
    scheduled_for: datetime
    period_start: datetime
    period_end: datetime
    subject: str
    items: int
    quiet: bool
    created_at: datetime
    built_at: datetime | None
    finished_at: datetime | None
    error: str | None
    warnings: list[str]
    admin_alerted_at: datetime | None
    deliveries: dict[str, int]  # state -> count


class DeliveryOut(msgspec.Struct):
    id: int
    purpose: str
    run: int | None
    alert: int | None
    department: str | None
    channel: str
    recipient: str
    state: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    failed_at: datetime | None
    message_id: str | None  # the e-mail's Message-ID (the same on every try): to look for it in mail logs


class AlertOut(msgspec.Struct):
    id: int
    kind: str
    subject: str
    department: str | None
    fired_at: datetime
    title: str
    detail: dict[str, object]


def _limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput.on("limit", f"expected 1 to {MAX_LIMIT}")
    return limit


def _department_filter(session: Session, slug: str | None, scope: int | None) -> int | None:
    """The one department to list (its id), or None for all; a scoped caller only ever gets theirs."""
    if slug is None:
        return scope
    department_id = session.scalar(select(Department.id).where(Department.slug == slug))
    if department_id is None:
        raise InvalidInput.on("department", f"unknown department {slug!r}")
    if scope is not None and department_id != scope:
        return -1  # another department: nothing to see
    return department_id


def _slugs(session: Session) -> dict[int, str]:
    return dict(session.execute(select(Department.id, Department.slug)).all())


def list_runs(
    session: Session,
    caller: Caller,
    department: str | None = None,
    state: str | None = None,
    limit: int = 50,
) -> list[RunOut]:
    """The runs ``caller`` may see (their department's, for a head), newest first."""
    scope = caller.scope()
    query = select(DigestRun).order_by(DigestRun.created_at.desc(), DigestRun.id.desc()).limit(_limit(limit))
    department_id = _department_filter(session, department, scope)
    if department_id is not None:
        query = query.where(DigestRun.department_id == department_id)
    if state:
        if state not in {s.value for s in RunStatus}:
            raise InvalidInput.on("state", f"expected one of {', '.join(s.value for s in RunStatus)}")
        query = query.where(DigestRun.state == state)
    runs = session.scalars(query).all()
    counts: dict[int, dict[str, int]] = {}
    if runs:
        rows = session.execute(
            select(Delivery.run_id, Delivery.state, func.count())
            .where(Delivery.run_id.in_([r.id for r in runs]), Delivery.purpose == "digest")
            .group_by(Delivery.run_id, Delivery.state)
        )
        for run_id, delivery_state, count in rows:
            if run_id is not None:
                counts.setdefault(run_id, {})[str(delivery_state)] = count
    slugs = _slugs(session)
    return [
        RunOut(
            id=r.id,
            department=slugs.get(r.department_id, "?"),
            period_key=r.period_key,
            kind=r.kind,
            state=r.state,
            scheduled_for=r.scheduled_for,
            period_start=r.period_start,
            period_end=r.period_end,
            subject=r.subject,
            items=r.items,
            quiet=r.quiet,
            created_at=r.created_at,
            built_at=r.built_at,
            finished_at=r.finished_at,
            error=r.error,
            warnings=list(r.warnings or []),
            admin_alerted_at=r.admin_alerted_at,
            deliveries=counts.get(r.id, {}),
        )
        for r in runs
    ]


def list_deliveries(
    session: Session,
    caller: Caller,
    department: str | None = None,
    state: str | None = None,
    run: int | None = None,
    limit: int = 100,
) -> list[DeliveryOut]:
    """The deliveries ``caller`` may see, newest first; admin notices only for callers who see every
    department."""
    scope = caller.scope()
    query = (
        select(Delivery, DigestRun.department_id, Alert.department_id)
        .outerjoin(DigestRun, DigestRun.id == Delivery.run_id)
        .outerjoin(Alert, Alert.id == Delivery.alert_id)
        .order_by(Delivery.created_at.desc(), Delivery.id.desc())
        .limit(_limit(limit))
    )
    department_id = _department_filter(session, department, scope)
    if department_id is not None:
        query = query.where(func.coalesce(DigestRun.department_id, Alert.department_id) == department_id)
        query = query.where(Delivery.purpose != "admin")
    if state:
        if state not in {s.value for s in DeliveryState}:
            raise InvalidInput.on("state", f"expected one of {', '.join(s.value for s in DeliveryState)}")
        query = query.where(Delivery.state == state)
    if run is not None:
        query = query.where(Delivery.run_id == run)
    slugs = _slugs(session)
    out = []
    for d, run_department, alert_department in session.execute(query):
        owner = run_department if run_department is not None else alert_department
        out.append(
            DeliveryOut(
                id=d.id,
                purpose=d.purpose,
                run=d.run_id,
                alert=d.alert_id,
                department=slugs.get(owner) if owner is not None else None,
                channel=d.channel,
                recipient=d.recipient,
                state=d.state,
                attempts=d.attempts,
                next_attempt_at=d.next_attempt_at,
                last_error=d.last_error,
                created_at=d.created_at,
                sent_at=d.sent_at,
                failed_at=d.failed_at,
                message_id=d.message_id,
            )
        )
    return out


def list_alerts(
    session: Session, caller: Caller, department: str | None = None, limit: int = 50
) -> list[AlertOut]:
    """The alerts ``caller`` may see (their department's, for a head; admin notices only for those who see
    every department), newest first."""
    scope = caller.scope()
    query = select(Alert).order_by(Alert.fired_at.desc(), Alert.id.desc()).limit(_limit(limit))
    department_id = _department_filter(session, department, scope)
    if department_id is not None:
        query = query.where(Alert.department_id == department_id, Alert.kind != "admin")
    slugs = _slugs(session)
    return [
        AlertOut(
            a.id,
            a.kind,
            a.subject,
            slugs.get(a.department_id) if a.department_id else None,
            a.fired_at,
            a.title,
            {k: v for k, v in a.detail.items() if k != "payload"},
        )
        for a in session.scalars(query)
    ]
