"""The command line a new admin expects: lists, errors that name the choices, hints, progress, headers."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from feedback.cli import main
from feedback.db import transaction
from feedback.models import Answer, Question, Response, utcnow
from feedback.responses.store import new_response_id
from tests import factories
from tests.test_cli import SURVEY_TOML


@pytest.fixture
def cli(database_url: str, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("FEEDBACK_DATABASE_URL", database_url)
    monkeypatch.setenv("FEEDBACK_BASE_URL", "https://feedback.example.com")
    monkeypatch.setenv("FEEDBACK_CAUSES_ENGINE", "default")

    def run(*args: str, ok: bool = True) -> Any:
        result = CliRunner().invoke(main, list(args), catch_exceptions=False)
        assert (result.exit_code == 0) == ok, result.output
        return result

    return run


def columns(output: str) -> list[str]:
    """The header line of a table, split into its column names (two spaces or more between them)."""
    return re.split(r"\s{2,}", output.splitlines()[0].strip())


def test_list_shows_surveys_departments_users_and_tokens_under_headers(cli, tmp_path: Path) -> None:
    assert cli("surveys", "list").output.strip() == "no surveys yet (feedback surveys load FILE.toml)"
    assert cli("users", "list").output.strip() == "no users yet"
    cli("departments", "add", "delivery", "Delivery & Logistics")
    survey = tmp_path / "delivery.toml"
    survey.write_text(SURVEY_TOML)
    cli("surveys", "load", str(survey))
    cli("users", "create", "exec@example.com", "--role", "executive", "--password", "a long password 1")
    cli("tokens", "create", "reporting", "--role", "department_head", "--department", "delivery")
    cli("tokens", "create", "old")
    cli("tokens", "revoke", "old")

    surveys = cli("surveys", "list").output
    assert columns(surveys) == [
        "SLUG",
        "DEPARTMENT",
        "STATUS",
        "QUESTIONS",
        "LANGUAGES",
        "PUBLIC LINK",
        "TITLE",
    ]
    [row] = surveys.splitlines()[1:]
    assert re.split(r"\s{2,}", row)[:5] == ["after-delivery", "delivery", "open", "2", "en"]
    assert row.endswith("How was your delivery?") and "https://feedback.example.com/p/" in row

    departments = cli("departments", "list").output
    assert columns(departments) == ["SLUG", "NAME", "TIME ZONE", "SURVEYS"]
    assert re.split(r"\s{2,}", departments.splitlines()[1]) == [
        "delivery",
        "Delivery & Logistics",
        "UTC",
        "1",
    ]

    users = cli("users", "list").output
    assert columns(users) == ["EMAIL", "NAME", "ROLE", "DEPARTMENT", "LAST LOGIN", "DISABLED"]
    assert re.split(r"\s{2,}", users.splitlines()[1]) == [
        "exec@example.com", "exec@example.com", "executive", "-", "-", "-"
    ]  # fmt: skip

    tokens = cli("tokens", "list").output
    assert columns(tokens) == ["NAME", "ROLE", "DEPARTMENT", "CREATED", "REVOKED"]
    rows = {re.split(r"\s{2,}", line)[0]: re.split(r"\s{2,}", line) for line in tokens.splitlines()[1:]}
    assert rows["reporting"][1:3] == ["department_head", "delivery"] and rows["reporting"][4] == "-"
    assert rows["old"][1:3] == ["admin", "-"] and rows["old"][4] != "-"
    assert "fbk_" not in tokens  # the secrets cannot be shown again


def test_errors_name_the_valid_choices_and_a_semicolon_csv_gets_a_hint(cli, tmp_path: Path) -> None:
    cli("departments", "add", "delivery", "Delivery")
    survey = tmp_path / "delivery.toml"
    survey.write_text(SURVEY_TOML)
    cli("surveys", "load", str(survey))
    people = tmp_path / "people.csv"
    people.write_text("email,channel\nann@example.com,courier\n")
    missing = cli("invitations", "import", "support", str(people), ok=False)
    assert "no survey 'support'; surveys: after-delivery" in missing.output
    unknown = cli("tokens", "create", "x", "--role", "department_head", "--department", "support", ok=False)
    assert "unknown department 'support' (known: delivery)" in unknown.output

    excel = tmp_path / "excel.csv"
    excel.write_text("email;channel\nann@example.com;courier\n")
    hinted = cli("invitations", "import", "after-delivery", str(excel), ok=False)
    assert "separated by ';', not ','" in hinted.output
    assert not list(tmp_path.glob("excel-links-*.csv"))  # nothing stored, no links file


def test_a_survey_file_reports_every_problem_at_once(cli, tmp_path: Path) -> None:
    cli("departments", "add", "delivery", "Delivery")
    bad = tmp_path / "bad.toml"
    bad.write_text(
        SURVEY_TOML.replace('slug = "after-delivery"', 'slug = "After Delivery"')
        .replace('type = "csat"', 'type = "stars"')
        .replace('prompt = "Anything we should know?"', 'prompt = ""\ncolour = "blue"')
    )
    failed = cli("surveys", "load", str(bad), ok=False)
    for field in ("slug", "questions[0].type", "questions[1].prompt", "questions[1].colour"):
        assert f"  {field}: " in failed.output, failed.output
    assert "4 problem(s)" in failed.output
    assert cli("surveys", "list").output.startswith("no surveys yet")


def test_analyze_shows_progress_within_its_stages_and_separates_thousands(
    cli, sessions: sessionmaker[Session]
) -> None:
    survey = factories.survey(sessions)
    with transaction(sessions) as session:
        questions = {
            q.key: q.id for q in session.scalars(select(Question).where(Question.survey_id == survey.id))
        }
        now = utcnow()
        responses, answers = [], []
        for i in range(1_050):
            rid = new_response_id()
            responses.append({
                "id": rid, "survey_id": survey.id, "via": "api", "submitted_at": now - timedelta(minutes=i),
                "nps": i % 4, "department_id": survey.department_id, "complete": True,
            })  # fmt: skip
            text = ("parcel arrived late again", "charged twice for one order", "app crashes at login")[i % 3]
            answers.append({"response_id": rid, "question_id": questions["comment"], "text": f"{text} #{i}"})
        session.execute(insert(Response), responses)
        session.execute(insert(Answer), answers)

    quiet = cli("analyze", "--no-progress")
    assert "1,050 feedback, 1,050 negative texts" in quiet.output
    assert "[" in quiet.stderr and "reading feedback" in quiet.stderr and "━" not in quiet.stderr

    shown = cli("analyze", "--progress")
    assert "1,050 feedback" in shown.stdout and "━" not in shown.stdout  # bars go to stderr only
    stages = shown.stderr
    assert "━" in stages and "100%" in stages
    assert "assigning and discovering causes in 1,050 negative items" in stages
    assert "writing results" in stages


def test_a_survey_file_with_translations_and_invitations_with_languages(
    cli, tmp_path: Path, sessions
) -> None:
    cli("departments", "add", "delivery", "Delivery")
    survey = tmp_path / "delivery.toml"
    survey.write_text(
        'language = "en"\n'
        + SURVEY_TOML
        + '\n[translations.pt]\ntitle = "Como foi a entrega?"\n'
        + '[translations.pt.questions.csat]\nprompt = "Ficou satisfeito com a entrega?"\n'
    )
    cli("surveys", "load", str(survey))
    assert re.split(r"\s{2,}", cli("surveys", "list").output.splitlines()[1])[4] == "en,pt"
    people = tmp_path / "people.csv"
    people.write_text("email,language\nana@example.com,pt\nbob@example.com,\nzoe@example.com,Deutsch\n")
    refused = cli("invitations", "import", "after-delivery", str(people), ok=False)
    assert "line 4: language: expected a language tag such as pt or pt-BR, not 'Deutsch'" in refused.output
    people.write_text("email,language\nana@example.com,pt\nbob@example.com,\n")
    cli("invitations", "import", "after-delivery", str(people), "--links", str(tmp_path / "links.csv"))
    from feedback.models import Invitation

    with sessions() as session:
        stored = dict(session.execute(select(Invitation.email, Invitation.language)).all())
    assert stored == {"ana@example.com": "pt", "bob@example.com": None}
