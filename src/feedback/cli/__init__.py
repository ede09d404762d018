"""The ``feedback`` command line. Each command is a thin shell over a service."""

from __future__ import annotations

import click

from feedback.accounts import cli as users
from feedback.accounts import tokens_cli as tokens
from feedback.causes import cli as causes
from feedback.cli import server
from feedback.cli.common import FeedbackGroup
from feedback.dashboards import cli as dashboards
from feedback.digests import cli as digests
from feedback.mentions import cli as mentions
from feedback.metrics import cli as metrics
from feedback.outcomes import cli as outcomes
from feedback.privacy import cli as privacy
from feedback.responses import cli as responses
from feedback.sentiment import cli as sentiment
from feedback.surveys import cli as surveys


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
