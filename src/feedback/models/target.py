"""Targets an admin sets for a metric, per department or contractor."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from feedback.models.base import Base, UTCDateTime, utcnow


class Target(Base):
    __tablename__ = "targets"
    __table_args__ = (UniqueConstraint("metric", "dimension", "value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    metric: Mapped[str] = mapped_column(String(32))  # nps, csat, ces, fcr, response_rate, ...
    dimension: Mapped[str] = mapped_column(String(32))  # department, contractor
    value: Mapped[str] = mapped_column(String(128))  # the department's slug, the contractor's name
    target: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
