"""Feedback read from the database as Polars frames, for analysis.

Two frames: ``feedback`` has one row per response or mention (what shares are counted against), ``texts``
one row per piece of text (a response's text answer, or a mention) with the scores and context it came with.
Mentions flagged as noise (reposts, copypasta) are left out.

Tables are read through db/frames.py (record batches straight into Polars; on SQLite the engine's own
connection), one table at a time, and joined in Polars: no row passes through the ORM.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import polars as pl
from sqlalchemy import Engine

from feedback.db.frames import Column, Select, read_frame
from feedback.models import QuestionKind

TEXT_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "item": pl.Utf8,  # a:<response>:<question> or m:<mention>
    "key": pl.Utf8,  # the feedback it belongs to: r:<response> or m:<mention>
    "kind": pl.Utf8,  # answer, mention
    "response_id": pl.Utf8,
    "question_id": pl.Int64,
    "mention_id": pl.Int64,
    "text": pl.Utf8,
    "occurred_at": pl.Datetime("us", "UTC"),
    "nps": pl.Int64,
    "csat": pl.Int64,
    "ces": pl.Int64,
    "survey_id": pl.Int64,  # whose bands judge the scores (null for mentions)
    "polarity": pl.Float64,
    "department_id": pl.Int64,
    "department": pl.Utf8,
    "product": pl.Utf8,
    "channel": pl.Utf8,
}
FEEDBACK_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "key": pl.Utf8,
    "occurred_at": pl.Datetime("us", "UTC"),
    "nps": pl.Int64,
    "csat": pl.Int64,
    "ces": pl.Int64,
    "survey_id": pl.Int64,
}


@dataclass
class Items:
    feedback: pl.DataFrame
    texts: pl.DataFrame


def _time(name: str, sql: str, dialect: str) -> Column:
    # frames.py reads SQLite times as whole epoch seconds; analysis keeps the stored microseconds.
    return Column(name, sql, "text" if dialect == "sqlite" else "time")


def _uuid(name: str, sql: str, dialect: str) -> Column:
    # A Uuid column is 32 hex digits on SQLite (made canonical by _dashed), a native uuid on PostgreSQL.
    return Column(name, sql if dialect == "sqlite" else f"{sql}::text", "text")


def _tidy_time(frame: pl.DataFrame, name: str, dialect: str) -> pl.DataFrame:
    if dialect != "sqlite":
        return frame
    parsed = pl.col(name).str.to_datetime("%Y-%m-%d %H:%M:%S%.f", time_unit="us").dt.replace_time_zone("UTC")
    return frame.with_columns(parsed)


def _dashed(name: str, dialect: str) -> pl.Expr:
    """The canonical text of a UUID (8-4-4-4-12, lower case), as ``str(uuid.UUID)`` gives it."""
    column = pl.col(name)
    if dialect != "sqlite":
        return column
    hex_ = column.str.replace_all("-", "", literal=True).str.to_lowercase()
    parts = [hex_.str.slice(start, length) for start, length in ((0, 8), (8, 4), (12, 4), (16, 4), (20, 12))]
    return pl.concat_str(parts, separator="-")


def _responses(engine: Engine, since: datetime | None) -> pl.DataFrame:
    dialect = engine.dialect.name
    query = Select(
        "responses",
        [
            _uuid("response_id", "id", dialect),
            _time("occurred_at", "submitted_at", dialect),
            Column("nps", "nps", "int"),
            Column("csat", "csat", "int"),
            Column("ces", "ces", "int"),
            Column("survey_id", "survey_id", "int"),
            Column("department_id", "department_id", "int"),
            Column("product", "product", "text"),
            Column("channel", "channel", "text"),
        ],
    )
    if since is not None:
        query.where_time("submitted_at", ">=", since)
    frame = _tidy_time(read_frame(engine, query), "occurred_at", dialect)
    return frame.with_columns(_dashed("response_id", dialect))


def _answers(engine: Engine) -> pl.DataFrame:
    dialect = engine.dialect.name
    query = Select(
        "answers",
        [
            _uuid("response_id", "response_id", dialect),
            Column("question_id", "question_id", "int"),
            Column("text", "text", "text"),
            Column("polarity", "polarity", "float"),
        ],
    )
    query.where("question_id IN (SELECT id FROM questions WHERE kind = ?)", QuestionKind.TEXT.value)
    query.where("text IS NOT NULL AND text != ''")
    return read_frame(engine, query).with_columns(_dashed("response_id", dialect))


def _mentions(engine: Engine, since: datetime | None) -> pl.DataFrame:
    dialect = engine.dialect.name
    query = Select(
        "mentions",
        [
            Column("mention_id", "id", "int"),
            Column("text", "text_norm", "text"),
            _time("occurred_at", "posted_at", dialect),
            Column("polarity", "polarity", "float"),
            Column("department_id", "department_id", "int"),
            Column("product", "product", "text"),
            Column("channel", "source", "text"),
        ],
    ).where("noise IS NULL")
    if since is not None:
        query.where_time("posted_at", ">=", since)
    return _tidy_time(read_frame(engine, query), "occurred_at", dialect)


def _departments(engine: Engine) -> pl.DataFrame:
    query = Select(
        "departments", [Column("department_id", "id", "int"), Column("department", "slug", "text")]
    )
    return read_frame(engine, query)


def read_items(engine: Engine, since: datetime | None = None) -> Items:
    """All feedback (since ``since``), sorted by key so the frames do not depend on storage order."""
    responses = _responses(engine, since)
    mentions = _mentions(engine, since)
    no_score = [pl.lit(None, pl.Int64).alias(name) for name in ("nps", "csat", "ces", "survey_id")]
    response_key = pl.format("r:{}", pl.col("response_id")).alias("key")
    mention_key = pl.format("m:{}", pl.col("mention_id"))
    feedback = pl.concat(
        [
            responses.select(response_key, "occurred_at", "nps", "csat", "ces", "survey_id"),
            mentions.select(mention_key.alias("key"), "occurred_at", *no_score),
        ]
    )
    context = ["text", "occurred_at", "nps", "csat", "ces", "survey_id", "polarity"]
    context += ["department_id", "product", "channel"]
    answer_texts = (
        _answers(engine)
        .join(responses, on="response_id", how="inner")
        .select(
            pl.format("a:{}:{}", pl.col("response_id"), pl.col("question_id")).alias("item"),
            response_key,
            pl.lit("answer").alias("kind"),
            "response_id",
            "question_id",
            pl.lit(None, pl.Int64).alias("mention_id"),
            *context,
        )
    )
    mention_texts = mentions.with_columns(no_score).select(
        mention_key.alias("item"),
        mention_key.alias("key"),
        pl.lit("mention").alias("kind"),
        pl.lit(None, pl.Utf8).alias("response_id"),
        pl.lit(None, pl.Int64).alias("question_id"),
        "mention_id",
        *context,
    )
    texts = pl.concat([answer_texts, mention_texts]).join(
        _departments(engine), on="department_id", how="left"
    )
    return Items(
        feedback.cast(pl.Schema(FEEDBACK_SCHEMA)).sort("key"),
        texts.select(TEXT_SCHEMA.keys()).cast(pl.Schema(TEXT_SCHEMA)).sort("item"),
    )
