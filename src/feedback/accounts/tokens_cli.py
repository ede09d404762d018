"""API tokens."""

from __future__ import annotations

import click

from feedback.cli.common import echo_table, open_sessions, when
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
    from feedback.accounts.api_tokens import create_token

    with transaction(open_sessions()) as session:
        token = create_token(session, name, Role(role), department)
    click.echo(token)


@tokens.command("revoke")
@click.argument("name")
def tokens_revoke(name: str) -> None:
    """Revoke every token with this name."""
    from feedback.accounts.api_tokens import revoke_token

    with transaction(open_sessions()) as session:
        count = revoke_token(session, name)
    click.echo(f"{count} token(s) revoked")


@tokens.command("list")
def tokens_list() -> None:
    """Every token: name, role, department, created, revoked (the tokens themselves cannot be shown)."""
    from feedback.accounts.api_tokens import list_tokens

    with open_sessions()() as session:
        rows = [
            (t.name, t.role, slug or "-", when(t.created_at), when(t.revoked_at))
            for t, slug in list_tokens(session)
        ]
    echo_table(("NAME", "ROLE", "DEPARTMENT", "CREATED", "REVOKED"), rows, "no tokens yet")


COMMANDS = [tokens]
