"""The frames analysis/outcomes.py reads, straight from the database, with every id mapped to its person.

- responses with a score on the chosen scale, of invitations that name a customer id: ``response_id``,
  ``person``, ``at``, ``score``, plus the company's context fields (``context_fields``) as columns;
- events: ``person``, ``at``, ``kind``, ``amount``.

A customer id in the identity map becomes its person's id; any other id is a person of its own.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl
from sqlalchemy import Engine

from feedback.db.frames import Column, Select, read_frame

SCALES = ("nps", "csat", "ces")


def read_persons(engine: Engine) -> pl.DataFrame:
    """The identity map: ``customer_id``, ``person``."""
    return read_frame(
        engine,
        Select(
            "customer_identities",
            [Column("customer_id", "customer_id", "text"), Column("person", "person_id", "text")],
        ),
    )


def _to_person(frame: pl.DataFrame, persons: pl.DataFrame) -> pl.DataFrame:
    mapped = frame.join(persons, on="customer_id", how="left")
    return mapped.with_columns(pl.coalesce("person", "customer_id").alias("person")).drop("customer_id")


def read_events(engine: Engine) -> pl.DataFrame:
    events = read_frame(
        engine,
        Select(
            "outcome_events",
            [
                Column("customer_id", "customer_id", "text"),
                Column("at", "occurred_at", "time"),
                Column("kind", "kind", "text"),
                Column("amount", "amount", "float"),
            ],
        ),
    )
    return _to_person(events, read_persons(engine))


def read_responses(engine: Engine, scale: str, until: datetime | None = None) -> pl.DataFrame:
    """Scored responses linked to a customer (submitted at or before ``until``, when given), with their
    context fields as columns."""
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {', '.join(SCALES)}")
    scored = (
        Select(
            "responses",
            [
                Column("response_id", "id", "key"),
                Column("invitation_id", "invitation_id", "int"),
                Column("at", "submitted_at", "time"),
                Column("score", scale, "int"),
                Column("survey_id", "survey_id", "int"),  # whose bands judge the score
                Column("context_json", "CAST(context_fields AS TEXT)", "text"),
            ],
        )
        .where(f"{scale} IS NOT NULL")
        .where("invitation_id IS NOT NULL")
    )
    if until is not None:
        scored.where_time("submitted_at", "<=", until)
    customers = Select(
        "invitations",
        [Column("invitation_id", "id", "int"), Column("customer_id", "customer_id", "text")],
    ).where("customer_id IS NOT NULL")
    joined = read_frame(engine, scored).join(read_frame(engine, customers), on="invitation_id")
    frame = _to_person(joined.drop("invitation_id"), read_persons(engine))
    text = frame["context_json"].replace("null", None)  # a JSON null stored by an older writer
    if text.drop_nulls().is_empty():
        return frame.drop("context_json")
    decoded = text.str.json_decode(infer_schema_length=None)
    if not isinstance(decoded.dtype, pl.Struct):
        return frame.drop("context_json")
    return pl.concat([frame.drop("context_json"), decoded.struct.unnest()], how="horizontal")


def read_cause_items(engine: Engine, label: str = "name") -> pl.DataFrame:
    """``response_id``, ``cause`` (its ``label``: name, or key) of the responses the latest complete analysis
    run assigned."""
    runs = read_frame(
        engine, Select("analysis_runs", [Column("run", "id", "int")]).where("state = ?", "complete")
    )
    if runs.is_empty():
        return pl.DataFrame(schema={"response_id": pl.String, "cause": pl.String})
    latest = int(runs["run"].max())  # type: ignore[arg-type]
    items = read_frame(
        engine,
        Select(
            "cause_assignments",
            [Column("response_id", "response_id", "key"), Column("cause_id", "cause_id", "int")],
        )
        .where("run_id = ?", latest)
        .where("response_id IS NOT NULL"),
    )
    names = read_frame(
        engine,
        Select(
            "causes",
            [Column("cause_id", "id", "int"), Column("cause", "key" if label == "key" else "name", "text")],
        ),
    )
    return items.join(names, on="cause_id").select("response_id", "cause").unique()
