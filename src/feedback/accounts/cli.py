"""People who log in to the dashboards."""

from __future__ import annotations

import click

from feedback.cli.common import echo_table, open_sessions, when
from feedback.db import transaction
from feedback.models import Role


@click.group()
def users() -> None:
    """Dashboard logins (passwords stored as Argon2id hashes)."""


@users.command("create")
@click.argument("email")
@click.option("--name", default="", help="shown in the dashboards")
@click.option(
    "--role", type=click.Choice([r.value for r in Role]), default=Role.EXECUTIVE.value, show_default=True
)
@click.option("--department", help="the department a department_head sees")
@click.password_option(help="at least 12 characters (asked for when not given)")
def users_create(email: str, name: str, role: str, department: str | None, password: str) -> None:
    """Create a login."""
    from feedback.accounts.users import create_user

    with transaction(open_sessions()) as session:
        user = create_user(session, email, name, password, Role(role), department)
        click.echo(f"user {user.email} ({user.role}) created")


@users.command("set-password")
@click.argument("email")
@click.password_option(help="at least 12 characters (asked for when not given)")
def users_set_password(email: str, password: str) -> None:
    """Give a login a new password; every session it has ends."""
    from feedback.accounts.users import set_password

    with transaction(open_sessions()) as session:
        user = set_password(session, email, password)
        click.echo(f"user {user.email}: password changed, signed out everywhere")


@users.command("disable")
@click.argument("email")
def users_disable(email: str) -> None:
    """Stop a login from signing in; every session it has ends now."""
    from feedback.accounts.users import disable_user

    with transaction(open_sessions()) as session:
        user = disable_user(session, email)
        click.echo(f"user {user.email} disabled, signed out everywhere")


@users.command("enable")
@click.argument("email")
def users_enable(email: str) -> None:
    """Let a disabled login sign in again."""
    from feedback.accounts.users import enable_user

    with transaction(open_sessions()) as session:
        user = enable_user(session, email)
        click.echo(f"user {user.email} enabled")


@users.command("list")
def users_list() -> None:
    """Every login: e-mail, name, role, department, last login, disabled."""
    from feedback.accounts.users import list_users

    with open_sessions()() as session:
        rows = [
            (u.email, u.name, u.role, slug or "-", when(u.last_login_at), when(u.disabled_at))
            for u, slug in list_users(session)
        ]
    echo_table(("EMAIL", "NAME", "ROLE", "DEPARTMENT", "LAST LOGIN", "DISABLED"), rows, "no users yet")


COMMANDS = [users]
