"""The outbox: one row per (message, channel, recipient), delivered once, retried, or failed with its error.

    pending --claim--> sending --sent--> sent
       ^                  |  \\--error, tries left--> pending (next_attempt_at = now + backoff)
       |                  \\----error, last try or permanent--> failed (last_error) --resend--> pending
       +-- the claim's lease expired (the sender died) -----+

A sender claims one row right before it sends it, with a conditional UPDATE (``state`` and ``lease_until``
in the WHERE, a fresh token in ``lease_owner``): a compare-and-set, so two senders never hold the same row.
While the message is being sent a heartbeat renews the claim (FEEDBACK_DELIVERY_LEASE_S), so a slow mail
server never lets another sender take a delivery over; only a dead sender's claim expires. Each outcome is
stored only while the claim is still the sender's, as soon as it is known. The attempt counter grows at
claim time: every transfer is a try, and a row that crashes its sender again and again still runs out of
tries. Backoff: FEEDBACK_DIGEST_RETRY_S x 2^(tries - 1), at most FEEDBACK_DIGEST_RETRY_MAX_S, less up to a
quarter at random (two senders' retries do not meet again), for FEEDBACK_DIGEST_MAX_ATTEMPTS tries.

Every delivery gets a Message-ID at its first claim, ``<random.digest.12@domain>`` (a UUID, so unique across
installations and periods; the domain of FEEDBACK_SMTP_FROM, else of FEEDBACK_BASE_URL), kept for each retry.
A message that a server took just before its sender died, or before the connection dropped, is sent again
later with the same Message-ID (webhooks: the same X-Feedback-Delivery), so a receiver can drop the copy.

When the last delivery of a digest is done, the run becomes sent, partial or failed; a digest with a failed
delivery alerts the admins (admin.py), once, and that notice is sent in the same call.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from feedback.config import Settings
from feedback.db import transaction
from feedback.digests.admin import notify_admins
from feedback.digests.channels import DeliveryError
from feedback.digests.channels.email import Email, Mailer
from feedback.digests.channels.webhook import post
from feedback.digests.content import digest_from_json
from feedback.digests.render import digest_payload
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

log = logging.getLogger(__name__)

FINAL = (DeliveryState.SENT, DeliveryState.FAILED)


def backoff(settings: Settings, attempts: int) -> timedelta:
    """The wait before try ``attempts + 1``: exponential, capped, less up to a quarter at random."""
    seconds = min(settings.digest_retry_max_s, settings.digest_retry_s * 2 ** max(0, attempts - 1))
    return timedelta(seconds=seconds * random.uniform(0.75, 1.0))


def message_domain(settings: Settings) -> str:
    """The right-hand side of our Message-IDs: the sender's domain, else the public address's host."""
    domain = settings.smtp_from.rsplit("@", 1)[-1].rstrip(">").strip().lower()
    if domain and domain != "localhost" and "@" in settings.smtp_from:
        return domain
    return urlsplit(settings.base_url).hostname or "feedback.invalid"


def new_message_id(settings: Settings, message_key: str) -> str:
    return f"<{uuid.uuid4().hex}.{message_key.replace(':', '.')}@{message_domain(settings)}>"


def _lease_time(now: datetime) -> datetime:
    """Claims live on the real clock (they are about live processes), or on a caller's clock running ahead.

    ``now`` may be when a job started, minutes before it sends: a claim dated by it would expire early."""
    return max(now, datetime.now(UTC))


def _due(now: datetime) -> Any:
    return or_(
        and_(Delivery.state == DeliveryState.PENDING, Delivery.next_attempt_at <= now),
        and_(Delivery.state == DeliveryState.SENDING, Delivery.lease_until < _lease_time(now)),
    )


def _claim(
    sessions: sessionmaker[Session], settings: Settings, delivery: Delivery, token: str, at: datetime
) -> Delivery | None:
    """Take one delivery if it is still due (compare-and-set); the claimed row, or None."""
    with transaction(sessions) as session:
        moved = session.execute(
            update(Delivery)
            .where(Delivery.id == delivery.id, _due(at))
            .values(
                state=DeliveryState.SENDING,
                lease_owner=token,
                lease_until=_lease_time(at) + timedelta(seconds=settings.delivery_lease_s),
                attempts=Delivery.attempts + 1,
                message_id=func.coalesce(Delivery.message_id, new_message_id(settings, delivery.message_key)),
            )
            .execution_options(synchronize_session=False)
        )
        if getattr(moved, "rowcount", 0) != 1:
            return None
        claimed = session.scalars(select(Delivery).where(Delivery.id == delivery.id)).one()
        session.expunge(claimed)
        return claimed


class Clock:
    """The caller's ``now``, moved on by the real time elapsed since (outcomes are dated by it)."""

    def __init__(self, now: datetime) -> None:
        self.start, self._started = now, time.monotonic()

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self._started)


class _Heartbeat:
    """Renews the claim on the delivery being sent, every third of the lease, while its sender lives."""

    def __init__(self, sessions: sessionmaker[Session], settings: Settings, clock: Clock) -> None:
        self.sessions, self.clock = sessions, clock
        self.lease = timedelta(seconds=settings.delivery_lease_s)
        self._held: tuple[int, str] | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="outbox-heartbeat", daemon=True)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def hold(self, delivery_id: int, token: str) -> None:
        with self._lock:
            self._held = (delivery_id, token)

    def release(self) -> None:
        with self._lock:
            self._held = None

    def _run(self) -> None:
        while not self._stop.wait(self.lease.total_seconds() / 3):
            with self._lock:
                held = self._held
                if held is None:
                    continue
                try:
                    self._renew(*held)
                except Exception:  # the next beat tries again; the lease has time left
                    log.exception("renewing the claim on delivery %s failed", held[0])

    def _renew(self, delivery_id: int, token: str) -> None:
        with transaction(self.sessions) as session:
            moved = session.execute(
                update(Delivery)
                .where(
                    Delivery.id == delivery_id,
                    Delivery.lease_owner == token,
                    Delivery.state == DeliveryState.SENDING,
                )
                .values(lease_until=_lease_time(self.clock()) + self.lease)
                .execution_options(synchronize_session=False)
            )
        if getattr(moved, "rowcount", 0) != 1:
            log.warning("delivery %s: the claim was lost while sending", delivery_id)


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    runs: set[int] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)

    def add(self, other: DeliveryReport) -> None:
        self.sent, self.retrying, self.failed = (
            self.sent + other.sent,
            self.retrying + other.retrying,
            self.failed + other.failed,
        )
        self.runs |= other.runs
        self.errors += other.errors


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
        if not run_ids and not alert_ids:
            return
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
        message_id = delivery.message_id or new_message_id(self.settings, delivery.message_key)
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


def _admins_heard(session: Session, alert_id: int | None, at: datetime) -> None:
    """An admin notice arrived: the runs it is about record when the admins were alerted (not before)."""
    alert = session.get(Alert, alert_id) if alert_id is not None else None
    runs = [int(r) for r in (alert.detail.get("runs") or []) if r is not None] if alert else []
    if runs:
        session.execute(
            update(DigestRun)
            .where(DigestRun.id.in_(runs), DigestRun.admin_alerted_at.is_(None))
            .values(admin_alerted_at=at)
            .execution_options(synchronize_session=False)
        )


def _record(
    sessions: sessionmaker[Session],
    settings: Settings,
    delivery: Delivery,
    token: str,
    at: datetime,
    error: DeliveryError | None,
) -> str | None:
    """Store one outcome, only while the claim is still this sender's; the new state (None: claim lost)."""
    if error is None:
        values: dict[str, Any] = {"state": DeliveryState.SENT, "sent_at": at, "last_error": None}
    elif error.permanent or delivery.attempts >= settings.digest_max_attempts:
        values = {"state": DeliveryState.FAILED, "failed_at": at, "last_error": str(error)[:2000]}
    else:
        values = {
            "state": DeliveryState.PENDING,
            "next_attempt_at": at + backoff(settings, delivery.attempts),
            "last_error": str(error)[:2000],
        }
    with transaction(sessions) as session:
        done = session.execute(
            update(Delivery)
            .where(
                Delivery.id == delivery.id,
                Delivery.lease_owner == token,
                Delivery.state == DeliveryState.SENDING,
            )
            .values(lease_owner=None, lease_until=None, **values)
            .execution_options(synchronize_session=False)
        )
        if getattr(done, "rowcount", 0) != 1:
            log.error("delivery %s: the claim was lost before its outcome was stored", delivery.id)
            return None
        if error is None and delivery.purpose == "admin":
            _admins_heard(session, delivery.alert_id, at)
    return str(values["state"])


def _send(
    mailer: Mailer, client: httpx.Client, messages: _Messages, delivery: Delivery
) -> DeliveryError | None:
    """One transfer of one delivery; its error, or None when the receiver took it."""
    try:
        if delivery.channel == "email":
            mailer.send(messages.email(delivery))
            pause_point("digest.sent")  # tests only (feedback.faults)
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
        return failure
    except Exception as failure:  # a bug must not leave the row claimed: record it
        log.exception("delivery %s failed unexpectedly", delivery.id)
        return DeliveryError(f"{type(failure).__name__}: {failure}")
    return None


def _tally(
    report: DeliveryReport, settings: Settings, delivery: Delivery, state: str | None, error: Any
) -> None:
    if delivery.run_id is not None:
        report.runs.add(delivery.run_id)
    if state == DeliveryState.SENT:
        report.sent += 1
    elif state == DeliveryState.FAILED:
        report.failed += 1
        report.errors.append(f"delivery {delivery.id} to {delivery.recipient}: {error}")
        log.error("delivery %s to %s failed for good: %s", delivery.id, delivery.recipient, error)
    elif state == DeliveryState.PENDING:
        report.retrying += 1
        report.errors.append(f"delivery {delivery.id} to {delivery.recipient}: {error}")
        log.warning(
            "delivery %s to %s failed (try %s of %s), retrying later: %s",
            delivery.id,
            delivery.recipient,
            delivery.attempts,
            settings.digest_max_attempts,
            error,
        )


def deliver_due(
    sessions: sessionmaker[Session],
    settings: Settings,
    now: datetime,
    *,
    run_ids: Sequence[int] | None = None,
    alert_ids: Sequence[int] | None = None,
    admin_notices: bool = False,
    limit: int = 1000,
) -> DeliveryReport:
    """Send every delivery that is due, or only those of some runs or alerts and/or every admin notice; safe
    to run twice, also at the same time in several threads or processes."""
    report = DeliveryReport()
    only: list[Any] = [Delivery.run_id.in_(list(run_ids))] if run_ids is not None else []
    only += [Delivery.alert_id.in_(list(alert_ids))] if alert_ids is not None else []
    only += [Delivery.purpose == "admin"] if admin_notices else []
    with sessions() as session:
        query = select(Delivery).where(_due(now)).order_by(Delivery.id).limit(limit)
        if only:
            query = query.where(or_(*only))
        candidates = list(session.scalars(query))
    if not candidates:
        return report
    clock = Clock(now)
    messages = _Messages(settings)
    with Mailer(settings) as mailer, httpx.Client() as client, _Heartbeat(sessions, settings, clock) as beat:
        for candidate in candidates:
            token = uuid.uuid4().hex
            delivery = _claim(sessions, settings, candidate, token, clock())
            if delivery is None:
                continue  # sent meanwhile, or being sent by another sender
            with sessions() as session:
                messages.load(session, [delivery])
            pause_point("digest.claimed")  # tests only (feedback.faults)
            beat.hold(delivery.id, token)
            try:
                error = _send(mailer, client, messages, delivery)
            finally:
                beat.release()
            _tally(
                report,
                settings,
                delivery,
                _record(sessions, settings, delivery, token, clock(), error),
                error,
            )
    notices = finish_runs(sessions, settings, sorted(report.runs), clock())
    if notices:  # at once; their outcome is not this report's (it is about the messages asked for)
        deliver_due(sessions, settings, clock(), alert_ids=notices)
    return report


def finish_runs(
    sessions: sessionmaker[Session], settings: Settings, run_ids: Sequence[int], now: datetime
) -> list[int]:
    """Runs whose deliveries are all done become sent, partial or failed; a failure alerts the admins once.
    Returns the admin notices queued (for the caller to send at once)."""
    notices: list[int] = []
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
            notice = notify_admins(
                session,
                settings,
                now,
                subject=f"digest-failed:{run_id}",
                title=f"[feedback] The digest for {name} ({run.period_key}) was not delivered to everyone",
                text=f"{failed} of {failed + sent} deliveries of digest run {run_id} failed after their last "
                f"try:\n"
                + "\n".join(lines)
                + "\n\nSee `feedback digests log --deliveries`; once the cause is fixed, send them again "
                f"with `feedback digests resend --run {run_id}`.",
                runs=[run],
            )
            notices.append(notice.id)
    return notices
