"""Responses and their answers. Scores are copied onto the response for one-table analysis."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    true,
)
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from feedback.models.base import Base, UTCDateTime
from feedback.models.context import InteractionContext


class Response(InteractionContext, Base):
    __tablename__ = "responses"
    __table_args__ = (
        UniqueConstraint("survey_id", "idempotency_key"),
        # PostgreSQL finds a retry by its key alone: without fresh statistics it would otherwise read
        # the survey's responses through the index below. SQLite uses the unique constraint's index.
        Index("ix_responses_idempotency_key", "idempotency_key").ddl_if(dialect="postgresql"),
        Index("ix_responses_submitted_at", "submitted_at"),
        Index("ix_responses_survey_id_submitted_at", "survey_id", "submitted_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id"))
    # Unique: one response per invitation, enforced by the database, not only by code.
    invitation_id: Mapped[int | None] = mapped_column(ForeignKey("invitations.id"), unique=True)
    via: Mapped[str] = mapped_column(String(16))  # web, api, email
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    request_hash: Mapped[str | None] = mapped_column(String(64))
    nps: Mapped[int | None] = mapped_column(SmallInteger)
    csat: Mapped[int | None] = mapped_column(SmallInteger)
    ces: Mapped[int | None] = mapped_column(SmallInteger)
    # False while only the score clicked in an e-mail is saved; Send completes the same row.
    complete: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    language: Mapped[str | None] = mapped_column(String(16))  # the language the page was shown in

    answers: Mapped[list[Answer]] = relationship(back_populates="response", cascade="all, delete-orphan")


# A comment stored without its sentiment (left by an earlier writer, which scored after its commit; see
# responses/scoring.py): the scorer finds them through this small index instead of reading every answer.
UNSCORED = "analyzer IS NULL AND text IS NOT NULL"


class Answer(Base):
    __tablename__ = "answers"
    __table_args__ = (
        Index(
            "ix_answers_unscored",
            "response_id",
            sqlite_where=sql_text(UNSCORED),
            postgresql_where=sql_text(UNSCORED),
        ),
    )

    response_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("responses.id", ondelete="CASCADE"), primary_key=True
    )
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"), primary_key=True, index=True)
    score: Mapped[int | None] = mapped_column(SmallInteger)
    choice: Mapped[str | None] = mapped_column(String(200))
    text: Mapped[str | None] = mapped_column(Text)
    polarity: Mapped[float | None] = mapped_column(Float)
    subjectivity: Mapped[float | None] = mapped_column(Float)
    analyzer: Mapped[str | None] = mapped_column(String(64))

    response: Mapped[Response] = relationship(back_populates="answers")
