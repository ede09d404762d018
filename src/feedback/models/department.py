"""Departments: who owns a survey, an interaction and a root cause, and how their digests reach them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from feedback.models.base import Base, UTCDateTime, utcnow


class Department(Base):
    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Digests (digests/): heads and delivery channels are in models/digest.py.
    timezone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    digest_schedule: Mapped[str | None] = mapped_column(String(100))  # cron in `timezone`; None: no digests
    digest_schedule_since: Mapped[datetime | None] = mapped_column(UTCDateTime)  # runs before this never due
    noise_budget: Mapped[int] = mapped_column(Integer, default=5, server_default="5")  # most items a digest
    quiet_period: Mapped[str] = mapped_column(String(8), default="note", server_default="note")  # or nothing
    acknowledge_days: Mapped[int] = mapped_column(Integer, default=7, server_default="7")
