"""What every command shares: sessions on the configured database, and errors printed for people."""

from __future__ import annotations

import sys

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
