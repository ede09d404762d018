"""The closed loop: who hears about a department's problems, what was sent, and what became of each cause.

department_heads, delivery_channels  where a department's digests and alerts go
digest_runs, digest_charts           one digest per (department, period): content kept apart from delivery
digest_deliveries                    the outbox: one row per (message, channel, recipient), claimed by lease
alerts, alert_cooldowns              spikes between digests, notices to the admins; one per cooldown
cause_followups                      a cause's loop state: reported, acknowledged, in progress, fixed, ...
apscheduler_jobs                     APScheduler's job store (its own layout): migrations own every table
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    Unicode,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from feedback.models.base import Base, UTCDateTime, utcnow


class RunStatus(StrEnum):
    BUILDING = "building"  # leased by one process; content not stored yet
    SENDING = "sending"  # content stored, deliveries queued or being retried
    SENT = "sent"  # every delivery arrived
    PARTIAL = "partial"  # some deliveries failed after their last try
    FAILED = "failed"  # every delivery failed, or the content could not be built
    QUIET = "quiet"  # nothing to say, and the department wants nothing then
    MISSED = "missed"  # due, but not sent within the grace period (the scheduler was down)
    HELD = "held"  # built and stored, deliberately not sent (the demo without a mail server)


class DeliveryState(StrEnum):
    PENDING = "pending"  # waiting for its next attempt (next_attempt_at)
    SENDING = "sending"  # claimed until lease_until; an expired claim is pending again
    SENT = "sent"
    FAILED = "failed"  # after the last try, or an error no retry can fix


class FollowupState(StrEnum):
    REPORTED = "reported"  # carried by a digest; waiting for an acknowledgement
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    FIXED = "fixed"  # watched during the verification window
    VERIFIED = "verified"  # recurred far less after the fix
    REOPENED = "reopened"  # did not: back in the next digest


class DepartmentHead(Base):
    __tablename__ = "department_heads"
    __table_args__ = (UniqueConstraint("department_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))


class DeliveryChannel(Base):
    """Another place a department's digests and alerts go: an e-mail address (a team list) or a webhook.

    ``target`` is the address or URL, or ``env:NAME`` when the URL itself is a secret (a Slack webhook);
    ``secret_env`` names the variable holding a webhook's signing secret. Secrets never enter the database.
    """

    __tablename__ = "delivery_channels"
    __table_args__ = (UniqueConstraint("department_id", "kind", "target"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # email, webhook
    target: Mapped[str] = mapped_column(String(1000))
    secret_env: Mapped[str | None] = mapped_column(String(128))


class DigestRun(Base):
    """One department's digest for one period. Unique (department, period_key): creating it is the lease."""

    __tablename__ = "digest_runs"
    __table_args__ = (UniqueConstraint("department_id", "period_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id", ondelete="CASCADE"), index=True)
    period_key: Mapped[str] = mapped_column(String(64))  # the scheduled time (UTC ISO) or manual:<time>
    kind: Mapped[str] = mapped_column(String(16))  # scheduled, manual
    scheduled_for: Mapped[datetime] = mapped_column(UTCDateTime)
    period_start: Mapped[datetime] = mapped_column(UTCDateTime)
    period_end: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[RunStatus] = mapped_column(String(16), index=True)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    built_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    subject: Mapped[str] = mapped_column(String(300), default="")
    content: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    html: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str | None] = mapped_column(Text)
    items: Mapped[int] = mapped_column(Integer, default=0)
    quiet: Mapped[bool] = mapped_column(Boolean, default=False)
    warnings: Mapped[list[str]] = mapped_column(JSON, default=list)
    error: Mapped[str | None] = mapped_column(Text)
    admin_alerted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DigestChart(Base):
    """A chart of a digest as a PNG, sent inline (Content-ID ``cid``)."""

    __tablename__ = "digest_charts"
    __table_args__ = (UniqueConstraint("run_id", "cid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("digest_runs.id", ondelete="CASCADE"))
    cid: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(200))
    png: Mapped[bytes] = mapped_column(LargeBinary)


class Alert(Base):
    """A message between digests: a spike (to the owning department) or a notice to the admins."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_subject_fired_at", "subject", "fired_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # spike, admin
    subject: Mapped[str] = mapped_column(String(100))  # cause:<id>, negative:<department id>, admin:...
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id", ondelete="CASCADE"))
    cause_id: Mapped[int | None] = mapped_column(ForeignKey("causes.id", ondelete="SET NULL"))
    fired_at: Mapped[datetime] = mapped_column(UTCDateTime)
    title: Mapped[str] = mapped_column(String(300))
    text: Mapped[str] = mapped_column(Text)
    html: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class AlertCooldown(Base):
    """When a subject may alert again; claimed with a conditional UPDATE, so two processes alert once."""

    __tablename__ = "alert_cooldowns"

    subject: Mapped[str] = mapped_column(String(100), primary_key=True)
    quiet_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Delivery(Base):
    """The outbox: one message to one recipient over one channel, delivered exactly once.

    A sender claims one row right before sending it, with a conditional UPDATE (state and lease), and
    renews the claim while it sends; a crashed sender's claim expires and another sender retries it.
    """

    __tablename__ = "digest_deliveries"
    __table_args__ = (
        UniqueConstraint("message_key", "channel", "recipient"),
        Index("ix_digest_deliveries_state_next_attempt_at", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    message_key: Mapped[str] = mapped_column(String(64))  # digest:<run>, alert:<alert>
    purpose: Mapped[str] = mapped_column(String(16))  # digest, alert, admin
    run_id: Mapped[int | None] = mapped_column(ForeignKey("digest_runs.id", ondelete="CASCADE"), index=True)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(16))  # email, webhook
    recipient: Mapped[str] = mapped_column(String(1000))
    secret_env: Mapped[str | None] = mapped_column(String(128))
    # <random.kind.id@domain>, set at the first claim and kept for every retry: a receiver drops a copy.
    message_id: Mapped[str | None] = mapped_column(String(255))
    state: Mapped[DeliveryState] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CauseFollowup(Base):
    """Where a cause stands in the loop. Its history is in cause_events (kinds reported ... reopened)."""

    __tablename__ = "cause_followups"

    id: Mapped[int] = mapped_column(primary_key=True)
    cause_id: Mapped[int] = mapped_column(ForeignKey("causes.id", ondelete="CASCADE"), unique=True)
    state: Mapped[FollowupState] = mapped_column(String(16), index=True)
    first_reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ack_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    in_progress_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    fixed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    fix_note: Mapped[str | None] = mapped_column(Text)
    verify_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    count_before: Mapped[int | None] = mapped_column(Integer)
    rate_before: Mapped[float | None] = mapped_column(Float)  # items per day before the fix
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reopened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# APScheduler's SQLAlchemyJobStore table, declared here with APScheduler's own layout so that the migrations
# create it (the job store then finds it and leaves it alone) and `alembic autogenerate` never drops it.
scheduler_jobs = Table(
    "apscheduler_jobs",
    Base.metadata,
    Column("id", Unicode(191), primary_key=True),
    Column("next_run_time", Float(25), index=True),
    Column("job_state", LargeBinary, nullable=False),
)
