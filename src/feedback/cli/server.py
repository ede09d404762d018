"""Running the service: schema migrations, the web server, the demo."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import click

from feedback.cli.common import open_sessions
from feedback.config import get_settings
from feedback.db import transaction, upgrade_database


@click.group()
def db() -> None:
    """The database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply migrations (run once per deploy; safe to repeat)."""
    upgrade_database(get_settings().database_url, revision)
    click.echo(f"database at {revision}")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int, help="web worker processes")
def serve(host: str, port: int, workers: int) -> None:
    """Serve the web app and the API."""
    _serve(host, port, workers)


WORKER_HEALTHCHECK_S = 120


def _serve(host: str, port: int, workers: int, app: str = "feedback.web.app:create_app") -> None:
    """Serve ``app`` (an import string of an app factory: each worker process imports it)."""
    import uvicorn

    from feedback.db import schema_problem
    from feedback.web.slow_clients import server_options

    settings = get_settings()
    # Workers never migrate: `feedback db upgrade` runs once per deploy, before any worker starts.
    problem = schema_problem(settings.database_url)
    if problem is not None:
        raise click.ClickException(f"not serving: {problem}")
    uvicorn.run(
        app,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=settings.log_level.lower(),
        access_log=False,
        proxy_headers=False,  # X-Forwarded-For is read by the app, from FEEDBACK_TRUSTED_PROXIES only
        # With --workers, uvicorn kills a worker that does not answer its health check in time (5 s by
        # default), starting included: on a busy machine importing the app takes longer, and every worker
        # was killed and replaced for ever, serving nothing.
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_S,
        **server_options(settings),  # slow clients are cut off
    )


@click.command()
@click.option("--months", default=6, show_default=True, help="months of history to generate")
@click.option("--responses-per-day", default=60, show_default=True)
@click.option("--reset", is_flag=True, help="delete the demo database first")
@click.option("--serve/--no-serve", "and_serve", default=True, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option(
    "--now",
    "at",
    type=click.DateTime(["%Y-%m-%dT%H:%M", "%Y-%m-%d"]),
    help="end the history at this UTC time (default: now); the same time makes the same demo",
)
def demo(
    months: int,
    responses_per_day: int,
    reset: bool,
    and_serve: bool,
    host: str,
    port: int,
    at: datetime | None,
) -> None:
    """Fill the database with a realistic demo company, then serve it."""
    from feedback.demo.logins import create_demo_logins
    from feedback.demo.loop import describe, loop_done, run_loop
    from feedback.demo.seed import period, seed_demo
    from feedback.models import utcnow

    settings = get_settings()
    if reset:
        if not settings.is_sqlite:
            raise click.ClickException("--reset deletes a SQLite file; drop a PostgreSQL database yourself")
        path = Path(settings.database_url.split("///", 1)[1])
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    upgrade_database(settings.database_url)
    # Links point at this server unless FEEDBACK_BASE_URL says where the public reaches it.
    base_url = settings.base_url if os.environ.get("FEEDBACK_BASE_URL") else f"http://{host}:{port}"
    began = time.perf_counter()
    now = utcnow()
    if at is not None:
        if at.replace(tzinfo=UTC) > now:
            raise click.BadParameter(
                "is in the future; the history ends at or before now", param_hint="--now"
            )
        now = at.replace(tzinfo=UTC)
    sessions = open_sessions()
    with transaction(sessions) as session:
        summary = seed_demo(session, base_url, months=months, responses_per_day=responses_per_day, now=now)
        summary += "\n\n" + create_demo_logins(session, base_url)
    with sessions() as session:
        done = loop_done(session)
    if not done:  # mentions, root causes, owners' actions, digests: once, after the surveys
        start, end = period(months, now)
        mentions_per_day = max(2, responses_per_day // 4)
        report = run_loop(sessions, settings, start, end, mentions_per_day, progress=_progress(began))
        summary += "\n\n" + describe(report, base_url.rstrip("/"))
    click.echo(summary)
    click.echo(f"\n(the demo took {time.perf_counter() - began:.0f}s)")
    if and_serve:
        click.echo(f"serving on http://{host}:{port}  (API docs: http://{host}:{port}/schema)")
        os.environ["FEEDBACK_BASE_URL"] = base_url  # the app builds the same links
        _serve(host, port, 1)


def _progress(began: float) -> Callable[[str], None]:
    def say(step: str) -> None:
        click.echo(f"[{time.perf_counter() - began:5.1f}s] {step}", err=True)

    return say


COMMANDS = [db, serve, demo]
