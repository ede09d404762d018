"""What customers did after they answered: orders, renewals, cancellations; and which ids are one person."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from feedback.models.base import Base, UTCDateTime, utcnow


class OutcomeEvent(Base):
    """One thing a customer did (an order, a renewal, a cancellation...), stored once.

    ``dedup_key`` is a SHA-256 of the source and reference when the event has a reference, else of its
    content: importing the same rows again, by file or API, stores nothing new.
    """

    __tablename__ = "outcome_events"
    __table_args__ = (Index("ix_outcome_events_customer_id_occurred_at", "customer_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(64), unique=True)
    source: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[str] = mapped_column(String(200))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    kind: Mapped[str] = mapped_column(String(32))  # order, renewal, cancellation, refund, ...
    amount: Mapped[float | None] = mapped_column(Float)
    currency: Mapped[str | None] = mapped_column(String(3))
    reference: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CustomerIdentity(Base):
    """One of a person's ids (an order's customer id, a CRM id, ...) pointing at the person's id.

    An id belongs to one person at most (unique); a person's own id needs no row.
    """

    __tablename__ = "customer_identities"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(200), unique=True)
    person_id: Mapped[str] = mapped_column(String(200), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
