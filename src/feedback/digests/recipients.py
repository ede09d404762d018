"""Who receives a department's messages, and queueing a message for them (the outbox's rows)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from feedback.models import Delivery, DeliveryChannel, DeliveryState, DepartmentHead


@dataclass(frozen=True)
class Target:
    channel: str  # email, webhook
    recipient: str
    secret_env: str | None = None


def department_targets(session: Session, department_id: int) -> list[Target]:
    """Where a department's digests and alerts go: its heads by e-mail, then its channels."""
    heads = session.scalars(
        select(DepartmentHead.email)
        .where(DepartmentHead.department_id == department_id)
        .order_by(DepartmentHead.id)
    ).all()
    channels = session.scalars(
        select(DeliveryChannel)
        .where(DeliveryChannel.department_id == department_id)
        .order_by(DeliveryChannel.id)
    ).all()
    targets = [Target("email", email) for email in heads]
    targets += [Target(c.kind, c.target, c.secret_env) for c in channels]
    unique: dict[tuple[str, str], Target] = {}
    for target in targets:
        unique.setdefault((target.channel, target.recipient.lower()), target)
    return list(unique.values())


def enqueue(
    session: Session,
    *,
    message_key: str,
    purpose: str,
    targets: Iterable[Target],
    now: datetime,
    run_id: int | None = None,
    alert_id: int | None = None,
) -> int:
    """Queue the message for each target (once: a target already queued for this message is skipped)."""
    known: set[tuple[str, str]] = {
        (channel, recipient)
        for channel, recipient in session.execute(
            select(Delivery.channel, Delivery.recipient).where(Delivery.message_key == message_key)
        )
    }
    added = 0
    for target in targets:
        if (target.channel, target.recipient) in known:
            continue
        known.add((target.channel, target.recipient))
        session.add(
            Delivery(
                message_key=message_key,
                purpose=purpose,
                run_id=run_id,
                alert_id=alert_id,
                channel=target.channel,
                recipient=target.recipient,
                secret_env=target.secret_env,
                state=DeliveryState.PENDING,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )
        added += 1
    session.flush()
    return added
