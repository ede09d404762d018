"""The outbox: one row per (message, channel, recipient), delivered once, retried, or failed with its error.

    pending --claim--> sending --sent--> sent
       ^                  |  \\--error, tries left--> pending (next_attempt_at = now + backoff)
       |                  \\----error, last try or permanent--> failed (last_error)
       +-- the claim's lease expired (the sender died) -----+

A sender claims rows with a conditional UPDATE (``state`` and ``lease_until`` in the WHERE), so two senders
never hold the same row; a crashed sender's rows come back when their lease expires. Each outcome is
committed as soon as it is known. The attempt counter grows at claim time, so a row that crashes its sender
again and again still runs out of tries. Backoff: FEEDBACK_DIGEST_RETRY_S x 2^(tries - 1), at most
FEEDBACK_DIGEST_RETRY_MAX_S, for FEEDBACK_DIGEST_MAX_ATTEMPTS tries.

A message that an SMTP server accepted just before its sender died is sent again after the lease: e-mails
keep the same Message-ID and webhooks the same X-Feedback-Delivery, so a receiver can drop the copy.

When the last delivery of a digest is done, the run becomes sent, partial or failed; a digest with a failed
delivery alerts the admins (admin.py), once.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from feedback.config import Settings
from feedback.db import transaction
from feedback.faults import pause_point
from feedback.models import (
    Alert,
    Delivery,
    DeliveryState,
    Department,
    DigestChart,
    DigestRun,
    RunStatus,
)
from feedback.services.digests.admin import notify_admins
from feedback.services.digests.channels import DeliveryError
from feedback.services.digests.channels.email import Email, Mailer
from feedback.services.digests.channels.webhook import post
from feedback.services.digests.content import digest_from_json
from feedback.services.digests.render import digest_payload

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
CLAIM_CHUNK = 50
FINAL = (DeliveryState.SENT, DeliveryState.FAILED)


def backoff(settings: Settings, attempts: int) -> timedelta:
    seconds = settings.digest_retry_s * 2 ** max(0, attempts - 1)
    return timedelta(seconds=min(settings.digest_retry_max_s, seconds))


def _due(now: datetime) -> Any:
    return or_(
        and_(Delivery.state == DeliveryState.PENDING, Delivery.next_attempt_at <= now),
        and_(Delivery.state == DeliveryState.SENDING, Delivery.lease_until < now),
    )


def _claim(sessions: sessionmaker[Session], ids: Sequence[int], owner: str, now: datetime) -> list[int]:
    with transaction(sessions) as session:
        session.execute(
            update(Delivery)
            .where(Delivery.id.in_(ids), _due(now))
            .values(
                state=DeliveryState.SENDING,
                lease_owner=owner,
                lease_until=now + LEASE,
                attempts=Delivery.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        )
        return list(
            session.scalars(
                select(Delivery.id)
                .where(
                    Delivery.id.in_(ids),
                    Delivery.lease_owner == owner,
                    Delivery.state == DeliveryState.SENDING,
                )
                .order_by(Delivery.id)
            )
        )


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    runs: set[int] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)


class _Messages:
    """What each delivery sends, read once per run or alert."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.runs: dict[int, DigestRun] = {}
        self.charts: dict[int, list[tuple[str, bytes]]] = {}
        self.alerts: dict[int, Alert] = {}

    def load(self, session: Session, deliveries: Sequence[Delivery]) -> None:
        run_ids = {d.run_id for d in deliveries if d.run_id is not None and d.run_id not in self.runs}
        alert_ids = {
            d.alert_id for d in deliveries if d.alert_id is not None and d.alert_id not in self.alerts
        }
        for run in session.scalars(select(DigestRun).where(DigestRun.id.in_(run_ids))):
            self.runs[run.id] = run
            self.charts[run.id] = []
        for chart in session.scalars(
            select(DigestChart).where(DigestChart.run_id.in_(run_ids)).order_by(DigestChart.id)
        ):
            self.charts[chart.run_id].append((chart.cid, chart.png))
        for alert in session.scalars(select(Alert).where(Alert.id.in_(alert_ids))):
            self.alerts[alert.id] = alert

    def email(self, delivery: Delivery) -> Email:
        domain = self.settings.smtp_from.rsplit("@", 1)[-1].rstrip(">") or "feedback"
        message_id = f"<{delivery.message_key.replace(':', '-')}-{delivery.id}@{domain}>"
        if delivery.run_id is not None:
            run = self.runs[delivery.run_id]
            return Email(
                to=delivery.recipient,
                subject=run.subject,
                text=run.text or "",
                html=run.html,
                images=self.charts.get(run.id, []),
                message_id=message_id,
                date=run.built_at,
                headers={"Auto-Submitted": "auto-generated", "X-Feedback-Digest": str(run.id)},
            )
        assert delivery.alert_id is not None
        alert = self.alerts[delivery.alert_id]
        return Email(
            to=delivery.recipient,
            subject=alert.title,
            text=alert.text,
            html=alert.html,
            message_id=message_id,
            date=alert.fired_at,
            headers={"Auto-Submitted": "auto-generated", "X-Feedback-Alert": str(alert.id)},
        )

    def payload(self, delivery: Delivery) -> tuple[str, dict[str, Any]]:
        if delivery.run_id is not None:
            content = self.runs[delivery.run_id].content or {}
            return "digest", digest_payload(digest_from_json(content))
        assert delivery.alert_id is not None
        alert = self.alerts[delivery.alert_id]
        return "alert", dict(alert.detail.get("payload") or {"text": f"{alert.title}\n{alert.text}"})


def _record(
    sessions: sessionmaker[Session],
    settings: Settings,
    delivery: Delivery,
    owner: str,
    now: datetime,
    error: DeliveryError | None,
) -> str:
    """Store one outcome (only while this sender still holds the claim); returns the new state."""
    if error is None:
        values: dict[str, Any] = {"state": DeliveryState.SENT, "sent_at": now, "last_error": None}
    elif error.permanent or delivery.attempts >= settings.digest_max_attempts:
        values = {"state": DeliveryState.FAILED, "failed_at": now, "last_error": str(error)[:2000]}
    else:
        values = {
            "state": DeliveryState.PENDING,
            "next_attempt_at": now + backoff(settings, delivery.attempts),
            "last_error": str(error)[:2000],
        }
    with transaction(sessions) as session:
        done = session.execute(
            update(Delivery)
            .where(
                Delivery.id == delivery.id,
                Delivery.lease_owner == owner,
                Delivery.state == DeliveryState.SENDING,
            )
            .values(lease_owner=None, lease_until=None, **values)
            .execution_options(synchronize_session=False)
        )
    if getattr(done, "rowcount", 0) != 1:
        log.warning("delivery %s: the claim expired before the outcome was stored", delivery.id)
    return str(values["state"])


def deliver_due(
    sessions: sessionmaker[Session],
    settings: Settings,
    now: datetime,
    *,
    run_ids: Sequence[int] | None = None,
    alert_ids: Sequence[int] | None = None,
    limit: int = 1000,
) -> DeliveryReport:
    """Send every delivery that is due (optionally only those of some runs or alerts); safe to run twice."""
    owner = uuid.uuid4().hex
    report = DeliveryReport()
    with sessions() as session:
        query = select(Delivery.id).where(_due(now)).order_by(Delivery.id).limit(limit)
        if run_ids is not None or alert_ids is not None:
            query = query.where(
                or_(Delivery.run_id.in_(list(run_ids or [])), Delivery.alert_id.in_(list(alert_ids or [])))
            )
        candidates = list(session.scalars(query))
    if not candidates:
        return report
    messages = _Messages(settings)
    with Mailer(settings) as mailer, httpx.Client() as client:
        for start in range(0, len(candidates), CLAIM_CHUNK):
            claimed = _claim(sessions, candidates[start : start + CLAIM_CHUNK], owner, now)
            if not claimed:
                continue
            with sessions() as session:
                deliveries = list(
                    session.scalars(select(Delivery).where(Delivery.id.in_(claimed)).order_by(Delivery.id))
                )
                messages.load(session, deliveries)
            for delivery in deliveries:
                pause_point("digest.claimed")  # tests only (feedback.faults)
                error: DeliveryError | None = None
                try:
                    if delivery.channel == "email":
                        mailer.send(messages.email(delivery))
                        pause_point("digest.sent")
                    elif delivery.channel == "webhook":
                        event, payload = messages.payload(delivery)
                        post(
                            client,
                            delivery.recipient,
                            payload,
                            secret_env=delivery.secret_env,
                            delivery_id=delivery.id,
                            event=event,
                        )
                    else:
                        raise DeliveryError(f"unknown channel {delivery.channel!r}", permanent=True)
                except DeliveryError as failure:
                    error = failure
                except Exception as failure:  # a bug must not leave the row claimed: record it
                    log.exception("delivery %s failed unexpectedly", delivery.id)
                    error = DeliveryError(f"{type(failure).__name__}: {failure}")
                state = _record(sessions, settings, delivery, owner, now, error)
                if state == DeliveryState.SENT:
                    report.sent += 1
                elif state == DeliveryState.FAILED:
                    report.failed += 1
                    report.errors.append(f"delivery {delivery.id} to {delivery.recipient}: {error}")
                    log.error("delivery %s to %s failed for good: %s", delivery.id, delivery.recipient, error)
                else:
                    report.retrying += 1
                    tries = f"{delivery.attempts} of {settings.digest_max_attempts}"
                    log.warning(
                        "delivery %s to %s failed (try %s), retrying: %s",
                        delivery.id,
                        delivery.recipient,
                        tries,
                        error,
                    )
                if delivery.run_id is not None:
                    report.runs.add(delivery.run_id)
    finish_runs(sessions, settings, sorted(report.runs), now)
    return report


def finish_runs(
    sessions: sessionmaker[Session], settings: Settings, run_ids: Sequence[int], now: datetime
) -> None:
    """Runs whose deliveries are all done become sent, partial or failed; a failure alerts the admins once."""
    for run_id in run_ids:
        with transaction(sessions) as session:
            counts = dict(
                session.execute(
                    select(Delivery.state, func.count())
                    .where(Delivery.run_id == run_id, Delivery.purpose == "digest")
                    .group_by(Delivery.state)
                ).all()
            )
            if not counts or any(state not in FINAL for state in counts):
                continue
            sent, failed = counts.get(DeliveryState.SENT, 0), counts.get(DeliveryState.FAILED, 0)
            state = RunStatus.SENT if not failed else RunStatus.FAILED if not sent else RunStatus.PARTIAL
            moved = session.execute(
                update(DigestRun)
                .where(DigestRun.id == run_id, DigestRun.state == RunStatus.SENDING)
                .values(state=state, finished_at=now)
                .execution_options(synchronize_session=False)
            )
            if getattr(moved, "rowcount", 0) != 1 or not failed:
                continue
            run = session.get(DigestRun, run_id)
            assert run is not None
            department = session.get(Department, run.department_id)
            errors = session.scalars(
                select(Delivery).where(Delivery.run_id == run_id, Delivery.state == DeliveryState.FAILED)
            ).all()
            lines = [f"- {d.channel} to {d.recipient}: {d.last_error} ({d.attempts} tries)" for d in errors]
            name = department.name if department else run.department_id
            notify_admins(
                session,
                settings,
                now,
                subject=f"digest-failed:{run_id}",
                title=f"[feedback] The digest for {name} ({run.period_key}) was not delivered to everyone",
                text=f"{failed} of {failed + sent} deliveries of digest run {run_id} failed after their last "
                f"try:\n"
                + "\n".join(lines)
                + "\n\nSee `feedback digests log` or GET /api/digests/deliveries.",
                run=run,
            )
