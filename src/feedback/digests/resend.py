"""Sending failed deliveries again once their channel works: by run, by department, or all failed since.

A failed delivery goes back to pending with a fresh set of tries and its Message-ID kept (a receiver that has
the message already drops the copy); its run goes back to sending and is closed again by the outbox. Only
failed rows move, with a conditional UPDATE, and the outbox claims each row once: running resend twice, or
twice at the same time, sends each message once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from feedback.config import Settings
from feedback.db import transaction
from feedback.digests.outbox import DeliveryReport, deliver_due
from feedback.errors import InvalidInput, NotFound
from feedback.models import Alert, Delivery, DeliveryState, Department, DigestRun, RunStatus


@dataclass
class ResendReport:
    requeued: list[int] = field(default_factory=list)  # delivery ids sent again by this call
    deliveries: DeliveryReport = field(default_factory=DeliveryReport)


def _selected(
    session: Session, run_id: int | None, department: str | None, failed_since: datetime | None
) -> list[int]:
    query = (
        select(Delivery.id)
        .outerjoin(DigestRun, DigestRun.id == Delivery.run_id)
        .outerjoin(Alert, Alert.id == Delivery.alert_id)
        .where(Delivery.state == DeliveryState.FAILED)
        .order_by(Delivery.id)
    )
    if run_id is not None:
        if session.get(DigestRun, run_id) is None:
            raise NotFound(f"no digest run {run_id}")
        query = query.where(Delivery.run_id == run_id)
    if department is not None:
        department_id = session.scalar(select(Department.id).where(Department.slug == department))
        if department_id is None:
            raise InvalidInput.on("department", f"unknown department {department!r}")
        query = query.where(func.coalesce(DigestRun.department_id, Alert.department_id) == department_id)
    if failed_since is not None:
        query = query.where(Delivery.failed_at >= failed_since)
    return list(session.scalars(query))


def resend(
    sessions: sessionmaker[Session],
    settings: Settings,
    now: datetime,
    *,
    run_id: int | None = None,
    department: str | None = None,
    failed_since: datetime | None = None,
) -> ResendReport:
    """Queue the chosen failed deliveries again and send them now (at least one filter is required)."""
    if run_id is None and department is None and failed_since is None:
        raise InvalidInput.on("filter", "name a run, a department or a time (failed since)")
    report = ResendReport()
    with transaction(sessions) as session:
        ids = _selected(session, run_id, department, failed_since)
        for delivery_id in ids:  # one by one: a row another resend moved first is skipped
            moved = session.execute(
                update(Delivery)
                .where(Delivery.id == delivery_id, Delivery.state == DeliveryState.FAILED)
                .values(state=DeliveryState.PENDING, attempts=0, next_attempt_at=now, failed_at=None)
                .execution_options(synchronize_session=False)
            )
            if getattr(moved, "rowcount", 0) == 1:
                report.requeued.append(delivery_id)
        if not report.requeued:
            return report
        requeued = session.execute(
            select(Delivery.run_id, Delivery.alert_id).where(Delivery.id.in_(report.requeued))
        ).all()
        runs = sorted({r for r, _ in requeued if r is not None})
        alerts = sorted({a for _, a in requeued if a is not None})
        session.execute(
            update(DigestRun)
            .where(
                DigestRun.id.in_(runs),
                or_(DigestRun.state == RunStatus.FAILED, DigestRun.state == RunStatus.PARTIAL),
                DigestRun.built_at.is_not(None),
            )
            .values(state=RunStatus.SENDING, finished_at=None)
            .execution_options(synchronize_session=False)
        )
    report.deliveries = deliver_due(sessions, settings, now, run_ids=runs, alert_ids=alerts)
    return report
