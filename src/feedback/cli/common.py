"""What every command shares: sessions on the configured database, and errors printed for people."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from datetime import datetime

import click
from sqlalchemy.orm import Session, sessionmaker

from feedback.config import get_settings
from feedback.db import make_engine, make_sessionmaker
from feedback.errors import FeedbackError


def open_sessions() -> sessionmaker[Session]:
    return make_sessionmaker(make_engine(get_settings().database_url))


def fail(error: FeedbackError) -> None:
    """Print what is wrong and where (field or line), then exit 1."""
    headline = f"{len(error.errors)} problem(s):" if len(error.errors) > 1 else error.message
    click.secho(f"error: {headline}", fg="red", err=True)
    for item in error.errors[:50] if len(error.errors) > 1 else []:
        click.echo(f"  {item.field}: {item.message}", err=True)
    if len(error.errors) > 50:
        click.echo(f"  ... and {len(error.errors) - 50} more", err=True)
    sys.exit(1)


class FeedbackGroup(click.Group):
    """A command group that turns a FeedbackError into a readable message and exit code 1."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except FeedbackError as error:
            fail(error)
            return None


def when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M}" if moment else "-"


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    """Lines of a plain-text table: a header line, then one line per row, columns aligned."""
    cells = [[str(cell) for cell in row] for row in rows]
    widths = [max([len(h), *(len(row[i]) for row in cells)]) for i, h in enumerate(headers)]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in [list(headers), *cells]
    ]


def echo_table(headers: Sequence[str], rows: Iterable[Sequence[object]], empty: str) -> None:
    lines = table(headers, rows)
    click.echo("\n".join(lines) if len(lines) > 1 else empty)
