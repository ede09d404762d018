"""Invitations: one personal, single-use survey link per customer interaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from feedback.models.base import Base, UTCDateTime, utcnow
from feedback.models.context import InteractionContext


class Invitation(InteractionContext, Base):
    __tablename__ = "invitations"
    __table_args__ = (UniqueConstraint("survey_id", "dedup_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # No index of its own: the unique (survey_id, dedup_key) index serves the survey's look-ups.
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id"))
    # SHA-256 of the link token; the token itself is shown once, at import. A unique index, not a
    # constraint: SQLite can then drop it during a large import and build it once, before the commit.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    # Same recipient + interaction again is the same invitation (re-imports never duplicate).
    dedup_key: Mapped[str] = mapped_column(String(64))
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    customer_id: Mapped[str | None] = mapped_column(String(200), index=True)
    interaction_id: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str | None] = mapped_column(String(16))  # the customer's, e.g. "pt"; else the browser's
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
