"""The `feedback` command line, run as an admin would."""

from __future__ import annotations

import csv
import gc
from pathlib import Path

import pytest
from click.testing import CliRunner

from feedback.cli import main

SURVEY_TOML = """
slug = "after-delivery"
title = "How was your delivery?"
department = "delivery"
anonymous_link = true

[[questions]]
key = "csat"
type = "csat"
prompt = "How satisfied are you with your delivery?"
required = true

[[questions]]
key = "comment"
type = "text"
prompt = "Anything we should know?"
"""


@pytest.fixture
def cli(database_url: str, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("FEEDBACK_DATABASE_URL", database_url)
    monkeypatch.setenv("FEEDBACK_BASE_URL", "https://feedback.example.com")
    runner = CliRunner()

    def run(*args: str, ok: bool = True):  # type: ignore[no-untyped-def]
        result = runner.invoke(main, list(args), catch_exceptions=False)
        assert (result.exit_code == 0) == ok, result.output
        return result

    return run


def test_an_admin_sets_up_a_survey_and_invites_customers(cli, tmp_path: Path) -> None:
    cli("db", "upgrade")
    cli("departments", "add", "delivery", "Delivery & Logistics")
    survey_file = tmp_path / "delivery.toml"
    survey_file.write_text(SURVEY_TOML)
    loaded = cli("surveys", "load", str(survey_file))
    assert "after-delivery" in loaded.output and "https://feedback.example.com/p/" in loaded.output

    people = tmp_path / "people.csv"
    people.write_text(
        "email,interaction_id,channel\nann@example.com,D-1,courier\nbob@example.com,D-2,pickup\n"
    )
    links = tmp_path / "links.csv"
    collector = (gc.get_threshold(), gc.get_freeze_count())
    imported = cli(
        "invitations",
        "import",
        "after-delivery",
        str(people),
        "--links",
        str(links),
        "--expires-in-days",
        "30",
    )
    assert "2 invited, 0 already invited, 0 rejected" in imported.output
    assert (gc.get_threshold(), gc.get_freeze_count()) == collector  # collections tuned for the import only
    rows = list(csv.DictReader(links.open()))
    assert [r["email"] for r in rows] == ["ann@example.com", "bob@example.com"]
    assert all(r["link"].startswith("https://feedback.example.com/s/") for r in rows)

    again = cli("invitations", "import", "after-delivery", str(people), "--links", str(tmp_path / "l2.csv"))
    assert "0 invited, 2 already invited" in again.output
    assert not (tmp_path / "l2.csv").exists()  # no new links, no file: the first file is untouched

    token = cli("tokens", "create", "ops", "--role", "executive").output.strip()
    assert token.startswith("fbk_") and len(token) > 40


def test_bad_files_get_line_numbers_and_change_nothing(cli, tmp_path: Path) -> None:
    cli("db", "upgrade")
    cli("departments", "add", "delivery", "Delivery")
    bad_survey = tmp_path / "bad.toml"
    bad_survey.write_text(SURVEY_TOML.replace('type = "csat"', 'type = "stars"'))
    failed = cli("surveys", "load", str(bad_survey), ok=False)
    assert "questions[0].type" in failed.output
    good = tmp_path / "good.toml"
    good.write_text(SURVEY_TOML)
    cli("surveys", "load", str(good))
    people = tmp_path / "people.csv"
    people.write_text("email,wait_time_s\nann@example.com,30\nnot-an-email,soon\n")
    rejected = cli("invitations", "import", "after-delivery", str(people), ok=False)
    assert "line 3: email" in rejected.output and "line 3: wait_time_s" in rejected.output
    skipped = cli(
        "invitations",
        "import",
        "after-delivery",
        str(people),
        "--skip-invalid",
        "--links",
        str(tmp_path / "links.csv"),
    )
    assert "1 invited, 0 already invited, 1 rejected" in skipped.output
    missing = cli("invitations", "import", "no-such-survey", str(people), ok=False)
    assert "no survey 'no-such-survey'" in missing.output


def test_serve_gives_its_workers_time_to_start_on_a_busy_machine(monkeypatch, tmp_path) -> None:
    """uvicorn's default worker health check (5 s) killed every worker still importing the app on a loaded
    machine, so `feedback serve --workers 2` served nothing."""
    import uvicorn

    from feedback.cli import server

    seen: dict[str, object] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: seen.update(app=app, **options))
    monkeypatch.setattr("feedback.db.schema_problem", lambda url: None)
    server._serve("127.0.0.1", 8000, 2)
    assert seen["app"] == "feedback.web.app:create_app" and seen["workers"] == 2
    assert int(seen["timeout_worker_healthcheck"]) >= 60  # type: ignore[call-overload]
