"""Surveys and their questions."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from feedback.analysis import scales
from feedback.models.base import Base, UTCDateTime, utcnow


class SurveyStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class QuestionKind(StrEnum):
    NPS = "nps"
    CSAT = "csat"
    CES = "ces"
    CHOICE = "choice"
    TEXT = "text"


# Each score question's range, from the survey vocabulary (analysis/scales.py).
SCALES: dict[QuestionKind, tuple[int, int]] = {
    QuestionKind(s.name): (s.low, s.high) for s in scales.SCALES.values()
}


class Survey(Base):
    __tablename__ = "surveys"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    intro: Mapped[str] = mapped_column(Text, default="")
    thank_you: Mapped[str] = mapped_column(Text, default="")
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    status: Mapped[SurveyStatus] = mapped_column(String(16), default=SurveyStatus.OPEN)
    # Key of the anonymous public link (/p/<key>); None when the survey has none.
    public_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    language: Mapped[str] = mapped_column(String(16), default="en", server_default="en")
    # {"pt": {"title": ..., "intro": ..., "thank_you": ..., "questions": {"nps": {"prompt": ...}}}}
    translations: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=dict)
    # The survey's own score bands, {"csat": [3, 4]} (low band up to 3, high band from 4); a scale not named,
    # or NULL: the company's (settings). Every metric, alert and digest counts this survey's answers by them.
    bands: Mapped[dict[str, list[int]] | None] = mapped_column(JSON(none_as_null=True))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    questions: Mapped[list[Question]] = relationship(
        back_populates="survey", order_by="Question.position", cascade="all, delete-orphan"
    )


class Question(Base):
    __tablename__ = "questions"
    __table_args__ = (UniqueConstraint("survey_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(64))
    kind: Mapped[QuestionKind] = mapped_column(String(16))
    prompt: Mapped[str] = mapped_column(Text)
    required: Mapped[bool] = mapped_column(default=False)
    choices: Mapped[list[str] | None] = mapped_column(JSON)
    low_label: Mapped[str | None] = mapped_column(String(100))
    high_label: Mapped[str | None] = mapped_column(String(100))
    max_length: Mapped[int | None] = mapped_column(Integer)

    survey: Mapped[Survey] = relationship(back_populates="questions")
