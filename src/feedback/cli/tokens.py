"""API tokens."""

from __future__ import annotations

import click

from feedback.cli.common import open_sessions
from feedback.db import transaction
from feedback.models import Role


@click.group()
def tokens() -> None:
    """API tokens (stored hashed; shown once)."""


@tokens.command("create")
@click.argument("name")
@click.option(
    "--role", type=click.Choice([r.value for r in Role]), default=Role.ADMIN.value, show_default=True
)
@click.option("--department", help="the department a department_head token may read")
def tokens_create(name: str, role: str, department: str | None) -> None:
    """Create an API token and print it (it cannot be shown again)."""
    from feedback.services.api_tokens import create_token

    with transaction(open_sessions()) as session:
        token = create_token(session, name, Role(role), department)
    click.echo(token)


@tokens.command("revoke")
@click.argument("name")
def tokens_revoke(name: str) -> None:
    """Revoke every token with this name."""
    from feedback.services.api_tokens import revoke_token

    with transaction(open_sessions()) as session:
        count = revoke_token(session, name)
    click.echo(f"{count} token(s) revoked")


COMMANDS = [tokens]
