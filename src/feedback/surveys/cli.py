"""Setting up surveys: departments, survey definitions, invitations."""

from __future__ import annotations

import csv
import os
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from feedback.cli.common import echo_table, open_sessions
from feedback.config import get_settings
from feedback.db import transaction
from feedback.errors import FeedbackError, InvalidInput, NotFound, TooLarge
from feedback.heap import fewer_collections

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from feedback.models import Survey


@click.group()
def departments() -> None:
    """Departments."""


@departments.command("add")
@click.argument("slug")
@click.argument("name")
def departments_add(slug: str, name: str) -> None:
    """Create or rename a department."""
    from feedback.departments.service import DepartmentSpec, upsert_department
    from feedback.specs import convert

    with transaction(open_sessions()) as session:
        upsert_department(session, convert({"slug": slug, "name": name}, DepartmentSpec))
    click.echo(f"department {slug} saved")


@departments.command("list")
def departments_list() -> None:
    """Every department: slug, name, time zone, surveys."""
    from feedback.departments.service import list_departments
    from feedback.surveys.service import list_surveys

    with open_sessions()() as session:
        owned: dict[int, int] = {}
        for survey in list_surveys(session):
            owned[survey.department_id] = owned.get(survey.department_id, 0) + 1
        rows = [(d.slug, d.name, d.timezone, owned.get(d.id, 0)) for d in list_departments(session)]
    echo_table(
        ("SLUG", "NAME", "TIME ZONE", "SURVEYS"), rows, "no departments yet (feedback departments add)"
    )


@click.group()
def surveys() -> None:
    """Surveys."""


@surveys.command("load")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
def surveys_load(files: tuple[Path, ...]) -> None:
    """Create or update surveys from TOML files (all or none)."""
    from feedback.surveys.service import load_survey, public_link, read_survey_file

    settings = get_settings()
    with transaction(open_sessions()) as session:
        for path in files:
            try:
                survey = load_survey(session, read_survey_file(path))
            except FeedbackError as error:
                error.message = f"{path}: {error.message}"
                raise
            link = public_link(survey, settings.base_url)
            click.echo(
                f"{path}: survey {survey.slug} ({len(survey.questions)} questions, {survey.status})"
                + (f", public link {link}" if link else "")
            )


@surveys.command("list")
def surveys_list() -> None:
    """Every survey: slug, department, status, questions, languages, public link."""
    from feedback.departments.service import list_departments
    from feedback.surveys.service import list_surveys, public_link
    from feedback.surveys.view import survey_languages

    base_url = get_settings().base_url
    with open_sessions()() as session:
        slugs = {d.id: d.slug for d in list_departments(session)}
        rows = [
            (
                s.slug,
                slugs.get(s.department_id, "-"),
                s.status,
                len(s.questions),
                ",".join(survey_languages(s)),
                public_link(s, base_url) or "-",
                s.title,
            )
            for s in list_surveys(session)
        ]
    headers = ("SLUG", "DEPARTMENT", "STATUS", "QUESTIONS", "LANGUAGES", "PUBLIC LINK", "TITLE")
    echo_table(headers, rows, "no surveys yet (feedback surveys load FILE.toml)")


def survey_named(session: Session, slug: str) -> Survey:
    """The survey with this slug, or an error that names the surveys there are."""
    from feedback.surveys.service import get_survey, list_surveys

    try:
        return get_survey(session, slug)
    except NotFound:
        known = (
            ", ".join(s.slug for s in list_surveys(session)) or "none yet (feedback surveys load FILE.toml)"
        )
        raise NotFound(f"no survey {slug!r}; surveys: {known}") from None


SEMICOLON_HINT = (
    "the header is separated by ';', not ','; save the file as CSV with commas "
    "(in a spreadsheet: 'CSV UTF-8 (comma delimited)')"
)


def _semicolon_hint(error: InvalidInput, csv_file: Path) -> None:
    """Add a hint when the file looks like a spreadsheet's ';'-separated export."""
    with csv_file.open(encoding="utf-8-sig") as src:
        header = src.readline()
    if ";" in header and "," not in header:
        error.message = f"{error.message}; {SEMICOLON_HINT}"
        error.errors = (
            [*error.errors, type(error.errors[0])("line 1", SEMICOLON_HINT)] if error.errors else []
        )


@click.group()
def invitations() -> None:
    """Invitations."""


@invitations.command("import")
@click.argument("survey")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--links",
    "links_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="where to write the new personal links (default: <csv>-links-<time>.csv)",
)
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
    from feedback.invitations.reading import read_csv
    from feedback.invitations.service import expiry_in, import_invitations

    settings = get_settings()
    size = csv_file.stat().st_size
    if size > settings.max_import_bytes:
        raise TooLarge(
            f"{csv_file} has {size:,} bytes, more than the {settings.max_import_bytes:,} an import may have "
            "(FEEDBACK_MAX_IMPORT_BYTES); split it into smaller files"
        )
    links_path = links_path or csv_file.with_name(
        f"{csv_file.stem}-links-{time.strftime('%Y%m%dT%H%M%S')}.csv"
    )
    started = time.perf_counter()
    fd, tmp_name = tempfile.mkstemp(dir=links_path.parent, prefix=".links-", suffix=".csv")
    try:
        with (
            os.fdopen(fd, "w", newline="", encoding="utf-8") as out,
            csv_file.open(newline="", encoding="utf-8-sig") as src,
        ):
            writer = csv.writer(out)
            writer.writerow(["line", "email", "customer_id", "interaction_id", "link"])

            with fewer_collections(), transaction(open_sessions()) as session:
                report = import_invitations(
                    session,
                    survey_named(session, survey),
                    read_csv(src),
                    base_url=settings.base_url,
                    on_link=writer.writerow,  # a NewLink is the row (None written as "")
                    expires_at=expiry_in(expires_in_days),
                    skip_invalid=skip_invalid,
                )
        if report.created:
            os.replace(tmp_name, links_path)  # links appear only once the invitations are committed
        else:
            os.unlink(tmp_name)
    except InvalidInput as error:
        os.unlink(tmp_name)
        _semicolon_hint(error, csv_file)
        raise
    except BaseException:
        os.unlink(tmp_name)
        raise
    seconds = time.perf_counter() - started
    click.echo(
        f"{report.created} invited, {report.duplicates} already invited, {report.rejected} rejected "
        f"in {seconds:.1f}s" + (f"; links in {links_path}" if report.created else "")
    )
    for item in report.errors[:50]:
        click.echo(f"  {item.field}: {item.message}", err=True)


COMMANDS = [departments, surveys, invitations]
