"""The ``feedback`` command line. Each command is a thin shell over a service."""

from __future__ import annotations

import csv
import os
import sys
import tempfile
import time
from pathlib import Path

import click
from sqlalchemy.orm import Session, sessionmaker

from feedback.config import get_settings
from feedback.db import make_engine, make_sessionmaker, transaction, upgrade_database
from feedback.errors import FeedbackError
from feedback.models import Role


def _fail(error: FeedbackError) -> None:
    headline = f"{len(error.errors)} problem(s):" if len(error.errors) > 1 else error.message
    click.secho(f"error: {headline}", fg="red", err=True)
    for item in error.errors[:50] if len(error.errors) > 1 else []:
        click.echo(f"  {item.field}: {item.message}", err=True)
    if len(error.errors) > 50:
        click.echo(f"  ... and {len(error.errors) - 50} more", err=True)
    sys.exit(1)


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except FeedbackError as error:
            _fail(error)
            return None


@click.group(cls=_Group)
@click.version_option(package_name="feedback")
def main() -> None:
    """feedback: customer-satisfaction surveys and the loop after the score.

    Settings come from FEEDBACK_* environment variables (FEEDBACK_DATABASE_URL, FEEDBACK_BASE_URL, ...).
    """


def _sessions() -> sessionmaker[Session]:
    return make_sessionmaker(make_engine(get_settings().database_url))


@main.group()
def db() -> None:
    """The database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply migrations (run once per deploy; safe to repeat)."""
    upgrade_database(get_settings().database_url, revision)
    click.echo(f"database at {revision}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int, help="web worker processes")
def serve(host: str, port: int, workers: int) -> None:
    """Serve the web app and the API."""
    _serve(host, port, workers)


def _serve(host: str, port: int, workers: int) -> None:
    import uvicorn

    from feedback.db import current_revision, head_revision

    url = get_settings().database_url
    if current_revision(url) != head_revision():
        raise click.ClickException("the database is not at the latest schema; run `feedback db upgrade` first")
    uvicorn.run(
        "feedback.web.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=get_settings().log_level.lower(),
        access_log=False,
    )


@main.group()
def departments() -> None:
    """Departments."""


@departments.command("add")
@click.argument("slug")
@click.argument("name")
def departments_add(slug: str, name: str) -> None:
    """Create or rename a department."""
    from feedback.services.departments import DepartmentSpec, upsert_department
    from feedback.services.specs import convert

    with transaction(_sessions()) as session:
        upsert_department(session, convert({"slug": slug, "name": name}, DepartmentSpec))
    click.echo(f"department {slug} saved")


@main.group()
def surveys() -> None:
    """Surveys."""


@surveys.command("load")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def surveys_load(files: tuple[Path, ...]) -> None:
    """Create or update surveys from TOML files (all or none)."""
    from feedback.services.surveys import load_survey, public_link, read_survey_file

    settings = get_settings()
    with transaction(_sessions()) as session:
        for path in files:
            try:
                survey = load_survey(session, read_survey_file(path))
            except FeedbackError as error:
                error.message = f"{path}: {error.message}"
                raise
            link = public_link(survey, settings.base_url)
            click.echo(f"{path}: survey {survey.slug} ({len(survey.questions)} questions, {survey.status})"
                       + (f", public link {link}" if link else ""))


@main.group()
def invitations() -> None:
    """Invitations."""


@invitations.command("import")
@click.argument("survey")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--links", "links_path", type=click.Path(dir_okay=False, path_type=Path),
              help="where to write the new personal links (default: <csv>-links-<time>.csv)")
@click.option("--expires-in-days", type=float, help="links stop working after this many days")
@click.option("--skip-invalid", is_flag=True, help="store the valid rows and report the others")
def invitations_import(
    survey: str, csv_file: Path, links_path: Path | None, expires_in_days: float | None, skip_invalid: bool
) -> None:
    """Invite the customers in CSV_FILE to SURVEY; one single-use link each.

    Columns: email and/or customer_id, then optionally interaction_id, expires_at, department, channel,
    product, team, agent, contractor, region, handle_time_s, wait_time_s, first_contact_resolved.
    Rows already invited (same recipient and interaction_id) are skipped, so re-running is safe.
    """
    from feedback.services.invitations import NewLink, expiry_in, import_invitations, read_csv_rows
    from feedback.services.surveys import get_survey

    settings = get_settings()
    links_path = links_path or csv_file.with_name(f"{csv_file.stem}-links-{time.strftime('%Y%m%dT%H%M%S')}.csv")
    started = time.perf_counter()
    fd, tmp_name = tempfile.mkstemp(dir=links_path.parent, prefix=".links-", suffix=".csv")
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as out, csv_file.open(newline="", encoding="utf-8-sig") as src:
            writer = csv.writer(out)
            writer.writerow(["line", "email", "customer_id", "interaction_id", "link"])

            def keep(link: NewLink) -> None:
                writer.writerow([link.line, link.email or "", link.customer_id or "", link.interaction_id or "",
                                 link.link])

            with transaction(_sessions()) as session:
                report = import_invitations(
                    session, get_survey(session, survey), read_csv_rows(src), base_url=settings.base_url,
                    on_link=keep, expires_at=expiry_in(expires_in_days), skip_invalid=skip_invalid,
                )
        if report.created:
            os.replace(tmp_name, links_path)  # links appear only once the invitations are committed
        else:
            os.unlink(tmp_name)
    except BaseException:
        os.unlink(tmp_name)
        raise
    seconds = time.perf_counter() - started
    click.echo(f"{report.created} invited, {report.duplicates} already invited, {report.rejected} rejected "
               f"in {seconds:.1f}s" + (f"; links in {links_path}" if report.created else ""))
    for item in report.errors[:50]:
        click.echo(f"  {item.field}: {item.message}", err=True)


@main.group()
def tokens() -> None:
    """API tokens (stored hashed; shown once)."""


@tokens.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.ADMIN.value, show_default=True)
@click.option("--department", help="the department a department_head token may read")
def tokens_create(name: str, role: str, department: str | None) -> None:
    """Create an API token and print it (it cannot be shown again)."""
    from feedback.services.api_tokens import create_token

    with transaction(_sessions()) as session:
        token = create_token(session, name, Role(role), department)
    click.echo(token)


@tokens.command("revoke")
@click.argument("name")
def tokens_revoke(name: str) -> None:
    """Revoke every token with this name."""
    from feedback.services.api_tokens import revoke_token

    with transaction(_sessions()) as session:
        count = revoke_token(session, name)
    click.echo(f"{count} token(s) revoked")


@main.command()
@click.option("--months", default=6, show_default=True, help="months of history to generate")
@click.option("--responses-per-day", default=60, show_default=True)
@click.option("--reset", is_flag=True, help="delete the demo database first")
@click.option("--serve/--no-serve", "and_serve", default=True, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def demo(months: int, responses_per_day: int, reset: bool, and_serve: bool, host: str, port: int) -> None:
    """Fill the database with a realistic demo company, then serve it."""
    from feedback.demo.seed import seed_demo

    settings = get_settings()
    if reset and settings.is_sqlite:
        path = Path(settings.database_url.split("///", 1)[1])
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    upgrade_database(settings.database_url)
    with transaction(_sessions()) as session:
        summary = seed_demo(session, settings.base_url, months=months, responses_per_day=responses_per_day)
    click.echo(summary)
    if and_serve:
        click.echo(f"serving on http://{host}:{port}  (API docs: http://{host}:{port}/schema)")
        _serve(host, port, 1)
