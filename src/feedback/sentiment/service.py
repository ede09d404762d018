"""Sentiment that learns from the customers' own scores: train from the database, score text without a score,
and flag comments whose words disagree with their score.

A comment's label is its response's: dissatisfied by the one rule of the survey vocabulary
(analysis/scales.py, cut-offs from the settings: any score in its scale's low band). Disagreements compare a
comment with its response's first score (NPS, else CSAT, else CES). The model file lives at
FEEDBACK_SENTIMENT_MODEL; without one, TextBlob polarity is the judge.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import msgspec
import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from feedback.accounts.access import Caller
from feedback.analysis.dissatisfaction import (
    DissatisfactionModel,
    ModelFileError,
    disagreement,
    fit_model,
    is_dissatisfied,
    load_model,
)
from feedback.analysis.scales import SCALE_NAMES, Bands, Cutoffs
from feedback.config import get_settings
from feedback.errors import InvalidInput
from feedback.models import Answer, Mention, Response, Survey
from feedback.privacy import exposure
from feedback.responses.dissatisfied import survey_cutoffs

DEFAULT_WINDOW = timedelta(days=90)


def model_at(path: str | Path) -> DissatisfactionModel:
    """The model saved at ``path``; TextBlob alone when there is no file. A damaged file is an error."""
    file = Path(path)
    try:
        stamp = file.stat().st_mtime_ns
    except FileNotFoundError:
        return DissatisfactionModel(
            cutoffs=get_settings().cutoffs, note=f"no model file at {file}: TextBlob polarity"
        )
    try:
        return _cached_model(str(file), stamp)
    except ModelFileError as exc:
        raise InvalidInput.on("model", str(exc)) from None


@lru_cache(maxsize=4)
def _cached_model(path: str, _stamp: int) -> DissatisfactionModel:
    return load_model(Path(path))


def _scored(nps: int | None, csat: int | None, ces: int | None) -> tuple[str, int] | None:
    for scale, score in (("nps", nps), ("csat", csat), ("ces", ces)):
        if score is not None:
            return scale, int(score)
    return None


def labelled_comments(
    session: Session, cutoffs: Cutoffs, scope: int | None = None
) -> Iterator[tuple[str, bool]]:
    """(text, dissatisfied) of every comment whose response has a score, by its survey's bands when
    ``cutoffs`` has them."""
    query = (
        select(Answer.text, Response.nps, Response.csat, Response.ces, Response.survey_id)
        .join(Response, Response.id == Answer.response_id)
        .where(Answer.text.is_not(None))
    )
    if scope is not None:
        query = query.where(Response.department_id == scope)
    for text, nps, csat, ces, survey in session.execute(query):
        if text and text.strip() and _scored(nps, csat, ces) is not None:
            yield text, cutoffs.is_dissatisfied(nps, csat, ces, survey=survey)


def train_from_database(
    session: Session, min_rows: int, cutoffs: Cutoffs | None = None
) -> DissatisfactionModel:
    """A model learned from every scored comment (TextBlob alone when there are too few); labels by the
    settings' cut-offs unless ``cutoffs`` are given, with each survey's own bands."""
    rule = cutoffs or get_settings().cutoffs
    rows = list(labelled_comments(session, survey_cutoffs(session, rule)))
    return fit_model([t for t, _ in rows], [y for _, y in rows], scale="any", min_rows=min_rows, cutoffs=rule)


# -- CSV in, CSV out (no database) --------------------------------------------------------------------------


def read_csv_column(path: Path, column: str) -> pl.DataFrame:
    """The CSV with every column as text; an error naming the columns if ``column`` is missing."""
    try:
        frame = pl.read_csv(path, infer_schema_length=0, encoding="utf8-lossy")
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError) as exc:
        raise InvalidInput.on("input", f"{path}: not a readable CSV ({exc})") from None
    if column not in frame.columns:
        raise InvalidInput.on(
            "column", f"{path} has no column {column!r} (it has: {', '.join(frame.columns)})"
        )
    return frame


def cutoffs_with(cutoffs: Cutoffs, scale: str, dissatisfied_at_most: int | None) -> Cutoffs:
    """``cutoffs`` with ``scale``'s low band ending at ``dissatisfied_at_most`` (None: unchanged)."""
    if scale not in SCALE_NAMES:
        raise InvalidInput.on("scale", f"expected one of {', '.join(SCALE_NAMES)}")
    if dissatisfied_at_most is None:
        return cutoffs
    high_min = max(cutoffs.of(scale).high_min, dissatisfied_at_most + 1)
    try:
        changed: dict[str, Any] = {scale: Bands(dissatisfied_at_most, high_min)}
        return replace(cutoffs, **changed)
    except ValueError as exc:
        raise InvalidInput.on("dissatisfied_at_most", str(exc)) from None


def fit_from_csv(
    path: Path,
    text_column: str,
    score_column: str,
    scale: str,
    min_rows: int,
    cutoffs: Cutoffs | None = None,
) -> tuple[DissatisfactionModel, int]:
    """A model from a scored CSV, and how many rows were skipped (no text or no valid score). Labels by
    ``cutoffs`` (default: the settings')."""
    rule = cutoffs_with(cutoffs or get_settings().cutoffs, scale, None)
    frame = read_csv_column(path, text_column)
    if score_column not in frame.columns:
        raise InvalidInput.on("column", f"{path} has no column {score_column!r}")
    texts: list[str] = []
    labels: list[bool] = []
    skipped = 0
    for text, raw in zip(frame[text_column].to_list(), frame[score_column].to_list(), strict=True):
        try:
            label = is_dissatisfied(int(float(raw)), scale, rule) if raw not in (None, "") else None
        except ValueError:
            label = None
        if label is None or not text or not str(text).strip():
            skipped += 1
            continue
        texts.append(str(text))
        labels.append(label)
    return fit_model(texts, labels, scale=scale, min_rows=min_rows, cutoffs=rule), skipped


def score_csv(model: DissatisfactionModel, path: Path, text_column: str, output: Path) -> int:
    """Write ``path`` back to ``output`` with dissatisfied_probability, dissatisfied and polarity added."""
    frame = read_csv_column(path, text_column)
    texts = [t or "" for t in frame[text_column].to_list()]
    probability, polarity = model.score(texts)
    flags = model.dissatisfied(probability, polarity)
    scored = frame.with_columns(
        pl.Series("dissatisfied_probability", probability).round(4),
        pl.Series("dissatisfied", flags).cast(pl.String).str.to_lowercase(),
        pl.Series("polarity", polarity).round(4),
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    scored.write_csv(output, quote_style="necessary")
    return scored.height


# -- disagreements and unscored text ----------------------------------------------------------------------


class DisagreementOut(msgspec.Struct):
    response_id: uuid.UUID
    survey: str
    submitted_at: datetime
    scale: str
    score: int
    text: str
    dissatisfied_probability: float
    polarity: float
    reason: str
    model: str


def find_disagreements(
    session: Session,
    model: DissatisfactionModel,
    caller: Caller,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
) -> list[DisagreementOut]:
    """Comments whose score and words disagree, the surest first (a person should look at these); those
    ``caller`` may see, redacted for them."""
    scope = caller.scope()
    until = until or datetime.now(UTC)
    since = since or until - DEFAULT_WINDOW
    query = (
        select(
            Answer.response_id,
            Answer.text,
            Response.nps,
            Response.csat,
            Response.ces,
            Response.submitted_at,
            Survey.slug,
        )
        .join(Response, Response.id == Answer.response_id)
        .join(Survey, Survey.id == Response.survey_id)
        .where(Answer.text.is_not(None), Response.submitted_at >= since, Response.submitted_at < until)
    )
    if scope is not None:
        query = query.where(Response.department_id == scope)
    rows = [(r, found) for r in session.execute(query) if r.text and (found := _scored(r.nps, r.csat, r.ces))]
    if not rows:
        return []
    probability, polarity = model.score([r.text for r, _ in rows])
    out = []
    for (row, (scale, score)), p, pol in zip(rows, probability, polarity, strict=True):
        reason = disagreement(score, scale, float(p), float(pol), model.kind)
        if reason is not None:
            out.append(
                DisagreementOut(
                    row.response_id,
                    row.slug,
                    row.submitted_at,
                    scale,
                    score,
                    row.text,
                    round(float(p), 4),
                    round(float(pol), 4),
                    reason,
                    model.kind,
                )
            )
    out.sort(
        key=lambda d: -abs(d.dissatisfied_probability - 0.5) if d.model == "learned" else -abs(d.polarity)
    )
    return exposure.texts(caller, out[:limit], "text")


class UnscoredOut(msgspec.Struct):
    kind: Literal["comment", "mention"]
    id: str
    at: datetime
    source: str  # the survey's slug, or the mention's source
    text: str
    dissatisfied_probability: float
    dissatisfied: bool
    polarity: float
    model: str


def score_unscored(
    session: Session,
    model: DissatisfactionModel,
    kind: Literal["comment", "mention"],
    caller: Caller,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
) -> list[UnscoredOut]:
    """Text without a score (comments of unscored responses, or mentions), newest first, model-judged; what
    ``caller`` may see, redacted for them."""
    scope = caller.scope()
    until = until or datetime.now(UTC)
    since = since or until - DEFAULT_WINDOW
    items: list[tuple[str, datetime, str, str]] = []
    if kind == "comment":
        query = (
            select(Answer.response_id, Response.submitted_at, Survey.slug, Answer.text)
            .join(Response, Response.id == Answer.response_id)
            .join(Survey, Survey.id == Response.survey_id)
            .where(
                Answer.text.is_not(None),
                Response.nps.is_(None),
                Response.csat.is_(None),
                Response.ces.is_(None),
                Response.submitted_at >= since,
                Response.submitted_at < until,
            )
            .order_by(Response.submitted_at.desc())
            .limit(limit)
        )
        if scope is not None:
            query = query.where(Response.department_id == scope)
        items = [(str(i), at, slug, text) for i, at, slug, text in session.execute(query) if text]
    else:
        mentions = (
            select(Mention.id, Mention.posted_at, Mention.source, Mention.text)
            .where(Mention.noise.is_(None), Mention.posted_at >= since, Mention.posted_at < until)
            .order_by(Mention.posted_at.desc())
            .limit(limit)
        )
        if scope is not None:
            mentions = mentions.where(Mention.department_id == scope)
        items = [(str(i), at, source, text) for i, at, source, text in session.execute(mentions) if text]
    if not items:
        return []
    probability, polarity = model.score([text for _, _, _, text in items])
    flags = model.dissatisfied(probability, polarity)
    found = [
        UnscoredOut(kind, i, at, source, text, round(float(p), 4), bool(f), round(float(pol), 4), model.kind)
        for (i, at, source, text), p, f, pol in zip(items, probability, flags, polarity, strict=True)
    ]
    return exposure.texts(caller, found, "text")
