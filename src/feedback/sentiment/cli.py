"""Sentiment that learns from scores: fit and score CSV files, train from the database, read disagreements."""

from __future__ import annotations

from pathlib import Path

import click

from feedback.cli.common import open_sessions
from feedback.config import get_settings
from feedback.db import transaction

_MODEL_HELP = "model file (default FEEDBACK_SENTIMENT_MODEL)"


@click.group()
def sentiment() -> None:
    """Dissatisfaction learned from the customers' own scores (TextBlob polarity as the fallback)."""


@sentiment.command("fit")
@click.option(
    "--input",
    "input_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="a CSV of texts with their scores",
)
@click.option("--text-column", required=True)
@click.option("--score-column", required=True)
@click.option(
    "--scale",
    required=True,
    type=click.Choice(["nps", "csat", "ces"]),
    help="the score's scale; dissatisfied = its low band (FEEDBACK_NPS_BANDS...: NPS 0-6, CSAT 1-2, CES 1-3)",
)
@click.option(
    "--dissatisfied-at-most",
    type=int,
    help="the highest score that counts as dissatisfied (default: the settings' low band of --scale)",
)
@click.option(
    "--model",
    "model_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="where to save the model",
)
@click.option(
    "--min-rows",
    type=int,
    help="fewest scored texts to learn from (default FEEDBACK_SENTIMENT_MIN_TRAINING_ROWS)",
)
def sentiment_fit(
    input_path: Path,
    text_column: str,
    score_column: str,
    scale: str,
    dissatisfied_at_most: int | None,
    model_path: Path,
    min_rows: int | None,
) -> None:
    """Learn dissatisfaction from a scored CSV and save the model."""
    from feedback.sentiment.service import cutoffs_with, fit_from_csv

    settings = get_settings()
    minimum = min_rows if min_rows is not None else settings.sentiment_min_training_rows
    cutoffs = cutoffs_with(settings.cutoffs, scale, dissatisfied_at_most)
    model, skipped = fit_from_csv(input_path, text_column, score_column, scale, minimum, cutoffs)
    if model.pipeline is None:
        raise click.ClickException(
            f"no model saved: {model.note}. `feedback sentiment score` without --model "
            f"uses TextBlob polarity alone"
        )
    model.save(model_path)
    click.echo(
        f"model saved to {model_path}: {model.trained_rows} texts ({model.dissatisfied_rows} dissatisfied)"
        + (f", {skipped} rows skipped (no text or no valid score)" if skipped else "")
    )


@sentiment.command("score")
@click.option(
    "--model",
    "model_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="a model from `sentiment fit` or `sentiment train`; without it, TextBlob polarity "
    "(below FEEDBACK_NEGATIVE_POLARITY)",
)
@click.option(
    "--input", "input_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--text-column", required=True)
@click.option("--output", required=True, type=click.Path(dir_okay=False, path_type=Path))
def sentiment_score(model_path: Path | None, input_path: Path, text_column: str, output: Path) -> None:
    """Write the CSV back with dissatisfied_probability, dissatisfied (true/false) and polarity added."""
    from feedback.analysis.dissatisfaction import DissatisfactionModel
    from feedback.sentiment.service import model_at, score_csv

    textblob = DissatisfactionModel(cutoffs=get_settings().cutoffs, note="TextBlob polarity")
    model = model_at(model_path) if model_path else textblob
    rows = score_csv(model, input_path, text_column, output)
    click.echo(f"{rows} rows scored ({model.kind}) to {output}")


@sentiment.command("train")
@click.option("--model", "model_path", type=click.Path(dir_okay=False, path_type=Path), help=_MODEL_HELP)
def sentiment_train(model_path: Path | None) -> None:
    """Learn from every scored comment in the database and save the model the service uses."""
    from feedback.sentiment.service import train_from_database

    settings = get_settings()
    target = model_path or Path(settings.sentiment_model)
    with transaction(open_sessions()) as session:
        model = train_from_database(session, settings.sentiment_min_training_rows)
    if model.pipeline is None:
        raise click.ClickException(f"no model saved: {model.note}; the service keeps using TextBlob polarity")
    model.save(target)
    click.echo(
        f"model saved to {target}: {model.trained_rows} comments ({model.dissatisfied_rows} dissatisfied)"
    )


@sentiment.command("disagreements")
@click.option("--since", help="ISO date or time; default 90 days ago")
@click.option("--until", help="ISO date or time; default now")
@click.option("--limit", default=50, show_default=True)
@click.option("--model", "model_path", type=click.Path(dir_okay=False, path_type=Path), help=_MODEL_HELP)
def sentiment_disagreements(
    since: str | None, until: str | None, limit: int, model_path: Path | None
) -> None:
    """Comments whose words disagree with their score, for a person to read."""
    from feedback.accounts.access import OPERATOR
    from feedback.metrics.service import aware, parse_time
    from feedback.sentiment.service import find_disagreements, model_at

    model = model_at(model_path or get_settings().sentiment_model)
    with transaction(open_sessions()) as session:
        found = find_disagreements(
            session,
            model,
            OPERATOR,
            since=aware(parse_time(since, "since")),
            until=aware(parse_time(until, "until")),
            limit=limit,
        )
    if not found:
        click.echo(f"no disagreements ({model.kind} model)")
    for d in found:
        text = d.text if len(d.text) <= 200 else d.text[:197] + "..."
        click.echo(
            f"{d.submitted_at:%Y-%m-%d %H:%M}  {d.survey}  {d.scale} {d.score}  {d.reason}  "
            f"(P(dissatisfied) {d.dissatisfied_probability:.2f}, polarity {d.polarity:+.2f})\n  {text}"
        )


@sentiment.command("unscored")
@click.option("--kind", type=click.Choice(["comment", "mention"]), default="comment", show_default=True)
@click.option("--limit", default=50, show_default=True)
@click.option("--model", "model_path", type=click.Path(dir_okay=False, path_type=Path), help=_MODEL_HELP)
def sentiment_unscored(kind: str, limit: int, model_path: Path | None) -> None:
    """Text with no score (comments without a score, or mentions), newest first, judged by the model."""
    from feedback.accounts.access import OPERATOR
    from feedback.sentiment.service import model_at, score_unscored

    model = model_at(model_path or get_settings().sentiment_model)
    with transaction(open_sessions()) as session:
        items = score_unscored(
            session, model, "mention" if kind == "mention" else "comment", OPERATOR, limit=limit
        )
    for item in items:
        text = item.text if len(item.text) <= 200 else item.text[:197] + "..."
        label = "dissatisfied" if item.dissatisfied else "not dissatisfied"
        click.echo(
            f"{item.at:%Y-%m-%d %H:%M}  {item.source}  {label} "
            f"({item.dissatisfied_probability:.2f})\n  {text}"
        )


COMMANDS = [sentiment]
