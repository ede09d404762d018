"""Root causes: the taxonomy and discovered candidates, assignments, analysis runs, the ledger and history.

A cause row is also the memory of an admin's decision: a dismissed or merged candidate keeps its terms and
centroid, so the next run recognises the same cluster and does not show it again.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from feedback.models.base import Base, UTCDateTime, utcnow


class CauseStatus(StrEnum):
    ACTIVE = "active"  # in the taxonomy: assigned to, owned by a department
    CANDIDATE = "candidate"  # discovered, waiting for an admin's decision
    DISMISSED = "dismissed"  # an admin said it is not a cause; remembered so it does not come back
    MERGED = "merged"  # folded into another cause (merged_into_id); its items go there
    RETIRED = "retired"  # removed from the taxonomy; kept for its history


class RunState(StrEnum):
    RUNNING = "running"
    COMPLETE = "complete"
    FAILED = "failed"


class Cause(Base):
    __tablename__ = "causes"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)  # the public id: taxonomy id or "candidate-N"
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[CauseStatus] = mapped_column(String(16), index=True)
    origin: Mapped[str] = mapped_column(String(16))  # taxonomy, discovered
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    examples: Mapped[list[str]] = mapped_column(JSON, default=list)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)  # the owner
    suggested_department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("causes.id"))
    # What identifies the cause from run to run: its distinctive terms (c-TF-IDF) and, per engine, a centroid.
    label: Mapped[str] = mapped_column(String(300), default="")
    terms: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    centroid: Mapped[list[float] | None] = mapped_column(JSON)
    centroid_engine: Mapped[str | None] = mapped_column(String(64))
    verbatims: Mapped[list[str]] = mapped_column(JSON, default=list)
    size: Mapped[int] = mapped_column(Integer, default=0)  # negative items at the last complete run
    first_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class AnalysisRun(Base):
    """One `feedback analyze`. Its results become visible only when it commits as complete."""

    __tablename__ = "analysis_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    state: Mapped[RunState] = mapped_column(String(16), index=True)
    engine: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    items_total: Mapped[int] = mapped_column(Integer, default=0)
    items_negative: Mapped[int] = mapped_column(Integer, default=0)
    items_assigned: Mapped[int] = mapped_column(Integer, default=0)  # to a taxonomy cause
    items_clustered: Mapped[int] = mapped_column(Integer, default=0)  # into a repeated discovered cluster
    causes_seen: Mapped[int] = mapped_column(Integer, default=0)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)


class CauseAssignment(Base):
    """A negative item (a response's text answer, or a mention) and the cause it was assigned to."""

    __tablename__ = "cause_assignments"
    __table_args__ = (Index("ix_cause_assignments_cause_id_occurred_at", "cause_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("analysis_runs.id", ondelete="CASCADE"), index=True)
    cause_id: Mapped[int] = mapped_column(ForeignKey("causes.id", ondelete="CASCADE"))
    item_kind: Mapped[str] = mapped_column(String(16))  # answer, mention
    response_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("responses.id", ondelete="CASCADE"), index=True
    )
    question_id: Mapped[int | None] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"))
    mention_id: Mapped[int | None] = mapped_column(ForeignKey("mentions.id", ondelete="CASCADE"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))  # the item's own context
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    confidence: Mapped[float] = mapped_column(Float)
    method: Mapped[str] = mapped_column(String(16))  # taxonomy, discovered


class CauseLedger(Base):
    """How often a cause came back in one period, and what it cost."""

    __tablename__ = "cause_ledger"
    __table_args__ = (UniqueConstraint("cause_id", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cause_id: Mapped[int] = mapped_column(ForeignKey("causes.id", ondelete="CASCADE"))
    run_id: Mapped[int] = mapped_column(ForeignKey("analysis_runs.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(16))  # 2026-W47 or 2026-11
    period_start: Mapped[date] = mapped_column(Date)
    count: Mapped[int] = mapped_column(Integer)
    share: Mapped[float] = mapped_column(Float)  # of all feedback items in the period
    nps_points_lost: Mapped[float | None] = mapped_column(Float)
    csat_points_lost: Mapped[float | None] = mapped_column(Float)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    trend: Mapped[str] = mapped_column(String(16))  # new, growing, steady, shrinking


class CauseEvent(Base):
    """What happened to a cause: new, grew, shrank, merged, split, gone, accepted, dismissed, ...

    Kinds are open-ended text: later workflows (acknowledged, fix-in-progress, fixed, ...) add their own.
    """

    __tablename__ = "cause_events"
    __table_args__ = (Index("ix_cause_events_cause_id_at", "cause_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cause_id: Mapped[int] = mapped_column(ForeignKey("causes.id", ondelete="CASCADE"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("analysis_runs.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str | None] = mapped_column(String(200))  # an API token's name, "analysis", "cli"
    related_cause_id: Mapped[int | None] = mapped_column(ForeignKey("causes.id", ondelete="SET NULL"))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
