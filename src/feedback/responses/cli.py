"""Responses given elsewhere (a former survey tool, a shop's reviews), imported into a survey."""

from __future__ import annotations

from pathlib import Path

import click

from feedback.cli.common import open_sessions
from feedback.config import get_settings


@click.group()
def responses() -> None:
    """Responses: import historical answers."""


@responses.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--survey", "survey_slug", required=True, help="the survey the answers belong to")
@click.option("--map", "pairs", multiple=True, help="FIELD=COLUMN: read a field from another column")
@click.option("--skip-invalid", is_flag=True, help="store the good rows and report the others")
def import_file(file: Path, survey_slug: str, pairs: tuple[str, ...], skip_invalid: bool) -> None:
    """Import responses (id, submitted_at, customer_id, one column per question key, context and company
    fields) from CSV or Parquet; importing again stores nothing new."""
    from feedback.outcomes.cli import print_report
    from feedback.responses.importer import import_responses

    settings = get_settings()
    report = import_responses(
        open_sessions(),
        file,
        survey_slug=survey_slug,
        secret=settings.secret_key,
        max_text_chars=settings.max_text_chars,
        pairs=pairs,
        skip_invalid=skip_invalid,
        on_chunk=lambda r: click.echo(f"stored {r.stored:,} so far", err=True),
    )
    print_report(report)


COMMANDS = [responses]
