"""The recurrence ledger in the database, rebuilt in full by every run (see analysis/causes/recurrence.py)."""

from __future__ import annotations

import polars as pl
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from feedback.analysis.causes.recurrence import Grain, compute_ledger
from feedback.analysis.scales import Cutoffs
from feedback.models import CauseLedger


def write_ledger(
    session: Session,
    run_id: int,
    feedback: pl.DataFrame,
    raised: pl.DataFrame,
    grain: Grain,
    cutoffs: Cutoffs,
) -> pl.DataFrame:
    """Replace the ledger with one computed from ``feedback`` and the causes ``raised`` in it."""
    ledger = compute_ledger(feedback, raised, grain, cutoffs)
    session.execute(delete(CauseLedger))
    rows = [{**row, "run_id": run_id} for row in ledger.iter_rows(named=True)]
    if rows:
        session.execute(insert(CauseLedger), rows)
    return ledger


def ledger_of(session: Session, cause_id: int, limit: int = 104) -> list[CauseLedger]:
    """A cause's ledger rows, oldest period first (the last ``limit`` periods)."""
    query = (
        select(CauseLedger)
        .where(CauseLedger.cause_id == cause_id)
        .order_by(CauseLedger.period_start.desc())
        .limit(limit)
    )
    return list(reversed(session.scalars(query).all()))


def latest_ledger(session: Session) -> dict[int, CauseLedger]:
    """Each cause's most recent ledger row."""
    rows = session.scalars(select(CauseLedger).order_by(CauseLedger.cause_id, CauseLedger.period_start))
    return {row.cause_id: row for row in rows}
