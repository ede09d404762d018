"""Digests and the closed loop: department files, preview, send, the log, the scheduler process."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from feedback.cli.common import open_sessions, table, when
from feedback.config import get_settings
from feedback.db import transaction
from feedback.surveys.cli import departments

if TYPE_CHECKING:
    from feedback.scheduler import Planned

DEPARTMENT = click.option("--department", "slug", required=True, help="the department's slug")


def _now() -> datetime:
    return datetime.now(UTC)


@departments.command("load")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
def departments_load(files: tuple[Path, ...]) -> None:
    """Create or update departments from TOML files: digest schedule, heads, channels (all or nothing)."""
    from feedback.departments.service import load_departments, parse_departments_file

    specs = [spec for path in files for spec in parse_departments_file(path.read_text(encoding="utf-8"))]
    with transaction(open_sessions()) as session:
        loaded = load_departments(session, specs, _now())
        for department in loaded:
            schedule = department.digest_schedule or "no digests"
            click.echo(f"department {department.slug}: {schedule} ({department.timezone})")


@click.group()
def digest() -> None:
    """One department's digest: preview it, send it now."""


@digest.command("preview")
@DEPARTMENT
@click.option(
    "--output", type=click.Path(dir_okay=False, path_type=Path), help="write the HTML here (default: stdout)"
)
@click.option(
    "--charts/--no-charts", default=True, show_default=True, help="draw the charts (starts a browser)"
)
def digest_preview(slug: str, output: Path | None, charts: bool) -> None:
    """Write the HTML of the digest the department would get now (nothing is stored or sent)."""
    from feedback.digests.schedule import preview

    html, warnings = preview(open_sessions(), get_settings(), slug, _now(), charts=charts)
    for warning in warnings:
        click.secho(f"warning: {warning}", fg="yellow", err=True)
    if output is None:
        click.echo(html)
    else:
        output.write_text(html, encoding="utf-8")
        click.echo(f"digest preview written to {output}")


@digest.command("send")
@DEPARTMENT
def digest_send(slug: str) -> None:
    """Build the digest for the period ending now and send it to the department's heads and channels."""
    from feedback.digests.schedule import send_now

    report = send_now(open_sessions(), get_settings(), slug, _now())
    d = report.deliveries
    if report.quiet:
        click.echo("nothing new, and the department wants nothing sent then")
    elif report.failed:
        click.secho(
            f"the digest failed (run {report.failed[0]}): see `feedback digests log`", fg="red", err=True
        )
        sys.exit(1)
    else:
        click.echo(f"digest run {report.built[0]}: {d.sent} sent, {d.retrying} to retry, {d.failed} failed")
        if d.failed or d.retrying:
            for error in d.errors:
                click.echo(f"  {error}", err=True)
            sys.exit(1 if d.failed else 0)


_time = when


@click.command("log")
@click.option("--department", "slug", default=None, help="only this department")
@click.option("--state", default=None, help="only runs (or, with --deliveries, deliveries) in this state")
@click.option("--limit", default=30, show_default=True)
@click.option("--deliveries", is_flag=True, help="list deliveries (with their last error) instead of runs")
def digests_log(slug: str | None, state: str | None, limit: int, deliveries: bool) -> None:
    """The execution log: runs with their state, or deliveries with tries and errors. Newest first."""
    from feedback.accounts.access import OPERATOR
    from feedback.digests.log import list_deliveries, list_runs

    with open_sessions()() as session:
        if deliveries:
            found = list_deliveries(session, OPERATOR, slug, state, None, limit)
            deliveries_rows = [
                (
                    d.id,
                    _time(d.created_at),
                    d.state,
                    d.purpose,
                    f"run {d.run}" if d.run else f"alert {d.alert}",
                    d.channel,
                    d.recipient,
                    d.attempts,
                    _time(d.next_attempt_at) if d.state == "pending" else "-",
                )
                for d in found
            ]
            headers = (
                "ID",
                "CREATED",
                "STATE",
                "PURPOSE",
                "FOR",
                "CHANNEL",
                "RECIPIENT",
                "TRIES",
                "NEXT TRY",
            )
            notes = [
                ([f"Message-ID: {d.message_id}"] if d.message_id and d.channel == "email" else [])
                + ([f"last error: {d.last_error}"] if d.last_error else [])
                for d in found
            ]
            _echo_log(headers, deliveries_rows, notes, "no deliveries")
            return
        runs = list_runs(session, OPERATOR, slug, state, limit)
    rows = [
        (
            r.id,
            _time(r.scheduled_for),
            r.department,
            r.state,
            f"{r.items:,}",
            ", ".join(f"{n:,} {s}" for s, n in sorted(r.deliveries.items())) or "-",
        )
        for r in runs
    ]
    notes = [
        ([f"error: {r.error}"] if r.error else [])
        + [f"warning: {w}" for w in r.warnings]
        + ([f"admins alerted {_time(r.admin_alerted_at)}"] if r.admin_alerted_at else [])
        + (
            ["admins not alerted yet: their notice is queued or failing (--deliveries)"]
            if r.admin_alerted_at is None and r.state in ("failed", "partial", "missed")
            else []
        )
        for r in runs
    ]
    _echo_log(
        ("ID", "SCHEDULED", "DEPARTMENT", "STATE", "ITEMS", "DELIVERIES"), rows, notes, "no digest runs"
    )


def _echo_log(
    headers: tuple[str, ...], rows: Sequence[Sequence[object]], notes: list[list[str]], empty: str
) -> None:
    """A table of the log, each row followed by its errors and warnings, indented."""
    if not rows:
        click.echo(empty)
        return
    header, *lines = table(headers, rows)
    click.echo(header)
    for line, extra in zip(lines, notes, strict=True):
        click.echo(line + "".join(f"\n        {note}" for note in extra))


@click.command("resend")
@click.option("--run", "run_id", type=int, default=None, help="the failed deliveries of this digest run")
@click.option("--department", "slug", default=None, help="the failed deliveries of this department")
@click.option(
    "--failed-since",
    type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]),
    default=None,
    help="every delivery that failed since this time (UTC)",
)
def digests_resend(run_id: int | None, slug: str | None, failed_since: datetime | None) -> None:
    """Send failed deliveries again (same Message-ID) once their channel works; twice sends once."""
    from feedback.digests.resend import resend

    since = failed_since.replace(tzinfo=UTC) if failed_since is not None else None
    if run_id is None and slug is None and since is None:
        raise click.UsageError("name --run, --department or --failed-since")
    report = resend(
        open_sessions(), get_settings(), _now(), run_id=run_id, department=slug, failed_since=since
    )
    d = report.deliveries
    if not report.requeued:
        click.echo("no failed deliveries match: nothing to send again")
        return
    click.echo(f"{len(report.requeued)} sent again: {d.sent} sent, {d.retrying} to retry, {d.failed} failed")
    for error in d.errors:
        click.echo(f"  {error}", err=True)
    if d.failed or d.retrying:
        sys.exit(1)


@click.group()
def digests() -> None:
    """All departments' digests: the execution log, sending failed deliveries again."""


digests.add_command(digests_log)
digests.add_command(digests_resend)
digest.add_command(digests_log)


@click.command()
@click.option("--once", is_flag=True, help="run every job once now and exit (for a cron-driven setup)")
@click.option("--list", "show", is_flag=True, help="print every job with its schedule and next run, and exit")
def scheduler(once: bool, show: bool) -> None:
    """Run the scheduler: digests on their schedules, retries, alerts, fix verification, mention polling,
    root-cause analysis and retention (until stopped).

    With --once: every job once, then a summary of the deliveries; exit status 1 when a job failed or while
    any delivery is failing, overdue or waiting for a retry after an error (for cron and monitoring)."""
    from feedback import scheduler as process

    settings = get_settings()
    if show:
        _print_jobs(process.planned_jobs(open_sessions(), settings))
        return
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if once:
        from feedback.digests.health import delivery_health

        sessions = open_sessions()
        failed: process.JobsFailed | None = None
        try:
            process.run_once(sessions, settings)
        except process.JobsFailed as error:  # the other jobs still ran
            failed = error
        with sessions() as session:
            health = delivery_health(session, settings, _now())
        if health.troubled:  # cron and monitoring see it (silent when all is well, as cron likes)
            click.echo(health.report(), err=True)
        if failed is not None:
            raise click.ClickException(f"jobs failed: {failed}")
        if health.troubled:
            sys.exit(1)
        return
    process.run(settings)


def _print_jobs(planned: list[Planned]) -> None:
    width = max(len(p.job) for p in planned)
    click.echo(f"{'job':<{width}}  {'schedule':<32}  {'next run (UTC)':<22}  what")
    for p in planned:
        if p.next_run is None:
            when = "-"
        else:
            when = f"{p.next_run.astimezone(UTC):%Y-%m-%d %H:%M}" + ("" if p.stored else " *")
        click.echo(f"{p.job:<{width}}  {p.schedule:<32}  {when:<22}  {p.what}")
    if any(p.next_run is not None and not p.stored for p in planned):
        click.echo("* not stored by a running scheduler yet: the first run of a scheduler started now")


COMMANDS = [digest, digests, scheduler]
