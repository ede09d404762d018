"""Synthetic customers stored in a test database: invitations, CSAT responses, and their outcome events."""

from __future__ import annotations

import uuid
from pathlib import Path

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from feedback.db import transaction
from feedback.demo.outcome_data import Planted, synthetic
from feedback.models import Invitation, Response
from feedback.outcomes.importer import import_events
from tests import factories


def store_synthetic(
    sessions: sessionmaker[Session], seed: int, persons: int, planted: Planted
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Invite and store one CSAT response per synthetic person (survey support-followup)."""
    responses, events = synthetic(seed, persons, planted)
    factories.survey(sessions)
    factories.invite(sessions, [{"customer_id": p} for p in responses["person"]])
    with transaction(sessions) as session:
        survey_id = session.scalars(select(Invitation.survey_id)).first()
        ids = {c: i for c, i in session.execute(select(Invitation.customer_id, Invitation.id))}
        for row in responses.iter_rows(named=True):
            session.add(
                Response(
                    id=uuid.uuid4(),
                    survey_id=survey_id,
                    invitation_id=ids[row["person"]],
                    via="api",
                    submitted_at=row["at"],
                    csat=row["score"],
                )
            )
    return responses, events


def write_events(events: pl.DataFrame, path: Path, id_column: str = "person") -> Path:
    events.select(
        pl.col(id_column).alias("customer_id"),
        pl.col("at").dt.strftime("%Y-%m-%dT%H:%M:%S%.fZ").alias("occurred_at"),
        "kind",
        "amount",
    ).write_csv(path)
    return path


def store_events(sessions: sessionmaker[Session], events: pl.DataFrame, tmp_path: Path) -> None:
    import_events(sessions, write_events(events, tmp_path / "events.csv"))
