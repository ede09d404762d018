"""`feedback dashboards`: list and check the dashboard files, export dashboards as self-contained HTML."""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from feedback.cli.common import open_sessions
from feedback.config import get_settings
from feedback.errors import InvalidInput, NotFound

if TYPE_CHECKING:  # the dashboards' services load Plotly, SciPy and Polars: only when a command runs
    from feedback.accounts.access import Caller


@click.group()
def dashboards() -> None:
    """Dashboards: the TOML files that define them, and HTML exports for mail or archives."""


@dashboards.command("list")
def list_dashboards() -> None:
    """The dashboards there are, who they are for, and files with problems."""
    from feedback.dashboards.library import load_library

    library = load_library(get_settings().dashboards_dir or None)
    for spec in library.dashboards.values():
        click.echo(
            f"{spec.name:24} {spec.title}  (for {', '.join(spec.audience)}; {len(spec.panels)} panels)"
        )
    for problem in library.problems:
        click.secho(f"problem: {problem.field}: {problem.message}", fg="red", err=True)
    if library.problems:
        raise SystemExit(1)


@dashboards.command("check")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
def check(files: tuple[Path, ...]) -> None:
    """Check dashboard files (default: shipped ones and FEEDBACK_DASHBOARDS_DIR's); exit 1 on a problem."""
    from feedback.dashboards.library import dashboard_files
    from feedback.dashboards.spec import read_dashboard

    paths = list(files) or dashboard_files(get_settings().dashboards_dir or None)
    problems = 0
    for path in paths:
        try:
            spec = read_dashboard(path)
        except InvalidInput as error:
            for item in error.errors:
                click.secho(f"{item.field}: {item.message}", fg="red", err=True)
            problems += 1
            continue
        click.echo(f"ok  {path}  ({spec.title}: {len(spec.panels)} panels)")
    if problems:
        raise SystemExit(1)


def _caller(email: str | None) -> Caller:
    from feedback.accounts.access import Caller
    from feedback.accounts.users import caller_for
    from feedback.models import Role, User

    if email is None:
        return Caller("feedback dashboards export", Role.ADMIN)
    from sqlalchemy import select

    with open_sessions()() as session:
        user_id = session.scalar(select(User.id).where(User.email == email.strip().lower()))
        caller = caller_for(session, user_id) if user_id is not None else None
    if caller is None:
        raise NotFound(f"no active login {email!r}")
    return caller


def _write(path: Path, text: str) -> None:
    """Write atomically: a half-written file never replaces a good one."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


@dashboards.command("export")
@click.option(
    "--name", "names", multiple=True, help="a dashboard's name (repeat; default: every one the user may see)"
)
@click.option(
    "--output-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("."), show_default=True
)
@click.option(
    "--user", "email", help="export what this login may see (a department head: only their department)"
)
@click.option("--since", help="first day, e.g. 2026-09-01 (default: the dashboard's days before --until)")
@click.option("--until", help="last day, included (default: today)")
@click.option("--department", help="a department's slug")
@click.option("--channel", help="channels, comma-separated")
@click.option("--product", help="products, comma-separated")
def export(
    names: tuple[str, ...],
    output_dir: Path,
    email: str | None,
    since: str | None,
    until: str | None,
    department: str | None,
    channel: str | None,
    product: str | None,
) -> None:
    """Write dashboards as self-contained HTML files (plotly.js inside: they open offline, from a mail)."""
    from feedback.dashboards.access import filters_for, open_dashboard
    from feedback.dashboards.library import load_library
    from feedback.dashboards.panels import read_dashboard
    from feedback.dashboards.views import panel_views, render_standalone

    settings = get_settings()
    library = load_library(settings.dashboards_dir or None)
    caller = _caller(email)
    chosen = list(names) or [s.name for s in library.dashboards.values() if s.allows(caller.role)]
    output_dir.mkdir(parents=True, exist_ok=True)
    params = {
        "since": since,
        "until": until,
        "department": department,
        "channel": channel,
        "product": product,
    }
    sessions = open_sessions()
    now = datetime.now(UTC)
    for name in chosen:
        with sessions() as session:
            spec = open_dashboard(library, name, caller)
            filters = filters_for(session, spec, caller, params)
            data = read_dashboard(session, caller, spec, filters, settings.metrics_min_n)
        views = panel_views(data, settings.metrics_min_n)
        viewer = f"{caller.name} ({caller.role.replace('_', ' ')})"
        path = output_dir / f"{name}.html"
        _write(path, render_standalone(spec, views, filters, viewer, now))
        click.echo(f"{path}  ({spec.title}; {filters.describe()})")


COMMANDS = [dashboards]
