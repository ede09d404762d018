"""Privacy: erase a customer on request; drop old free text now."""

from __future__ import annotations

import getpass
from datetime import UTC, datetime

import click

from feedback.cli.common import open_sessions
from feedback.config import get_settings
from feedback.db import transaction


@click.group()
def privacy() -> None:
    """Erasure requests and text retention."""


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        return "unknown"


@privacy.command("erase")
@click.option("--email", help="the customer's e-mail address")
@click.option("--customer-id", help="the customer's id, as given in invitations")
@click.option("--handle", help="a public author's handle (mentions)")
def erase(email: str | None, customer_id: str | None, handle: str | None) -> None:
    """Erase one customer's invitations, responses, mentions and every quote of them; print the counts."""
    from feedback.keys import derive_key
    from feedback.privacy.erase import erase_customer
    from feedback.privacy.identifiers import HASH_PURPOSE, IdentifierKind, one_identifier

    kind, value = one_identifier(
        {IdentifierKind.EMAIL: email, IdentifierKind.CUSTOMER_ID: customer_id, IdentifierKind.HANDLE: handle}
    )
    settings = get_settings()
    with transaction(open_sessions()) as session:
        result = erase_customer(
            session,
            derive_key(settings, HASH_PURPOSE),
            kind,
            value,
            requested_by=f"cli {_os_user()}",
            via="cli",
        )
    click.echo(f"erasure request {result.request_id} ({result.identifier_kind}) recorded")
    for table, count in result.counts.items():
        click.echo(f"  {table}: {count}")


@privacy.command("retain")
@click.option("--days", type=click.IntRange(min=0), help="override FEEDBACK_RETENTION_TEXT_DAYS")
@click.option("--batch-size", type=click.IntRange(min=1), default=1000, show_default=True)
def retain(days: int | None, batch_size: int) -> None:
    """Drop free text older than the retention period now (the scheduler does it daily)."""
    from feedback.privacy.retention import retain_text

    days = get_settings().retention_text_days if days is None else days
    if days <= 0:
        click.echo("text is kept forever (FEEDBACK_RETENTION_TEXT_DAYS is 0 or unset); nothing to do")
        return
    counts = retain_text(open_sessions(), days, datetime.now(UTC), batch_size)
    click.echo(f"text older than {counts.pop('cutoff'):%Y-%m-%d %H:%M} UTC dropped")
    for table, count in counts.items():
        click.echo(f"  {table}: {count}")


COMMANDS = [privacy]
