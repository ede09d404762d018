"""The ``feedback`` command line. Each command is a thin shell over a service."""

from __future__ import annotations

import click

from feedback.cli import (
    causes,
    dashboards,
    digests,
    mentions,
    metrics,
    outcomes,
    privacy,
    responses,
    sentiment,
    server,
    surveys,
    tokens,
    users,
)
from feedback.cli.common import FeedbackGroup


@click.group(cls=FeedbackGroup)
@click.version_option(package_name="feedback")
def main() -> None:
    """feedback: customer-satisfaction surveys and the loop after the score.

    Settings come from FEEDBACK_* environment variables (FEEDBACK_DATABASE_URL, FEEDBACK_BASE_URL, ...).
    """


for module in (
    server,
    surveys,
    tokens,
    users,
    mentions,
    metrics,
    sentiment,
    causes,
    dashboards,
    digests,
    outcomes,
    responses,
    privacy,
):
    for command in module.COMMANDS:
        main.add_command(command)
