"""Personal data in listings and exports: admins see it, executives and department heads see it redacted."""

from __future__ import annotations

import html
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
import pytest
from sqlalchemy import select

from feedback.analysis.redact import redact
from feedback.db import transaction
from feedback.models import Cause, Department, Response, Role
from tests import factories
from tests.dashboards import data as dashboards
from tests.factories import bearer
from tests.privacy.data import mention, respond

EMAIL, PHONE, HANDLE = "jane.doe@example.com", "+49 30 1234 5678", "@jane_doe"
# What executives and department heads once saw unredacted (issue 12), inside a complaint.
MORE = (
    "jörg.piivictim@müller.de",
    "030/98765432",
    "2001:db8::7334",
    "https://x.com/piivictim/status/1234",
    "u/piivictim",
    "x AT example DOT org",
    "123-4567",
)
WORDS = (
    f"Nobody called back. Reach me at {EMAIL} or {PHONE}, cc {HANDLE}. Also {', '.join(MORE)}."
    " Slow refund, still waiting"
)


def test_redact_replaces_identifiers_and_keeps_the_complaint() -> None:
    assert redact(WORDS) == (
        "Nobody called back. Reach me at [email] or [phone], cc [handle]. Also [email], [phone], [ip],"
        " [profile], [handle], [email], [phone]. Slow refund, still waiting"
    )
    assert redact("order 12345, 3 items, 20.11.2026") == "order 12345, 3 items, 20.11.2026"


@pytest.fixture
def seeded(sessions: Any) -> dict[str, int]:
    """The dashboards' two departments, plus a comment and a mention in department A carrying identifiers."""
    dashboards.seed(sessions)
    now = datetime.now(UTC) - timedelta(hours=1)
    with transaction(sessions) as session:
        a = session.scalars(select(Department.id).where(Department.slug == dashboards.A)).one()
        response_id = respond(session, now, 1, WORDS, slug=f"{dashboards.A}-survey")
        session.get_one(Response, response_id).department_id = a
        session.add(
            mention(now, WORDS, author="@jane_doe", department_id=a, url="https://social.example/p/9")
        )
        for cause in session.scalars(select(Cause)):
            cause.verbatims = [WORDS, *cause.verbatims]
    return {"department": a}


def _leaks(text: str) -> list[str]:
    secrets = (EMAIL, PHONE, HANDLE, "jane_doe", "social.example/p/9", "piivictim", "müller")
    return [s for s in (*secrets, *MORE) if s in text or html.escape(s) in text]


@pytest.mark.parametrize("role", [Role.EXECUTIVE, Role.DEPARTMENT_HEAD])
def test_readers_get_the_api_listings_redacted(client, sessions, seeded, role: Role) -> None:
    token = factories.token(sessions, role, dashboards.A if role == Role.DEPARTMENT_HEAD else None)
    headers = bearer(token)
    for path in (
        f"/api/surveys/{dashboards.A}-survey/responses?limit=1000",
        "/api/mentions?limit=1000",
        "/api/causes",
        "/api/causes/alpha-refunds",
    ):
        answer = client.get(path, headers=headers)
        assert answer.status_code == 200, answer.text
        assert _leaks(answer.text) == [], path
        assert "Slow refund, still waiting" in answer.text, path  # the complaint itself is still readable
    # Everything else a reader can fetch that may quote customers' words.
    for path in (
        "/api/sentiment/disagreements",
        "/api/sentiment/unscored?kind=comment",
        "/api/sentiment/unscored?kind=mention",
        f"/api/departments/{dashboards.A}/digest/preview?charts=false",
        "/api/digests/alerts",
        "/api/problems",
    ):
        answer = client.get(path, headers=headers)
        assert answer.status_code == 200, (path, answer.text)
        assert _leaks(answer.text) == [], path
    mentions = client.get("/api/mentions?limit=1000", headers=headers).json()
    assert {m["author"] for m in mentions} == {"[redacted]"} and {m["url"] for m in mentions} == {None}


def test_admin_gets_the_api_listings_in_full(client, sessions, seeded) -> None:
    headers = bearer(factories.token(sessions, Role.ADMIN))
    responses = client.get(f"/api/surveys/{dashboards.A}-survey/responses?limit=1000", headers=headers)
    mentions = client.get("/api/mentions?limit=1000", headers=headers)
    causes = client.get("/api/causes", headers=headers)
    for answer in (responses, mentions, causes):
        assert answer.status_code == 200 and EMAIL in answer.text and PHONE in answer.text
    assert any(m["author"] == "@jane_doe" for m in mentions.json())


@pytest.mark.parametrize(
    ("role", "sees"), [(Role.ADMIN, True), (Role.EXECUTIVE, False), (Role.DEPARTMENT_HEAD, False)]
)
def test_dashboard_pages_and_downloads_follow_the_rule(client, seeded, role: Role, sees: bool) -> None:
    dashboards.login(client, role)
    query = "" if role == Role.DEPARTMENT_HEAD else f"?department={dashboards.A}"
    pages = [client.get(f"/dashboards/department{query}"), client.get("/dashboards/social-listening")]
    files = [
        client.get(f"/dashboards/department/panels/verbatims.csv{query}"),
        client.get(f"/dashboards/department/panels/causes.csv{query}"),
        client.get("/dashboards/social-listening/panels/recent-mentions.parquet"),
    ]
    for answer in pages + files:
        assert answer.status_code == 200, answer.text
    verbatims = pl.read_csv(io.BytesIO(files[0].content))
    causes = pl.read_csv(io.BytesIO(files[1].content))
    posts = pl.read_parquet(io.BytesIO(files[2].content))
    shown = "\n".join(
        [pages[0].text, pages[1].text, *verbatims["text"].to_list(), *causes["verbatims"].to_list()]
        + [str(v) for v in posts.filter(pl.col("text").str.contains("refund")).row(0)]
    )
    if sees:
        assert EMAIL in shown and PHONE in shown and "@jane_doe" in shown
    else:
        assert _leaks(shown) == [] and "[email]" in shown and "[phone]" in shown
        mine = posts.filter(pl.col("text").str.contains("refund"))
        assert mine["author"].to_list() == ["[redacted]"] and mine["url"].to_list() == [None]


def test_cli_export_redacts_for_a_department_head_only(database_url, seeded, tmp_path, monkeypatch) -> None:
    from click.testing import CliRunner

    from feedback.cli import main

    monkeypatch.setenv("FEEDBACK_DATABASE_URL", database_url)
    head = CliRunner().invoke(
        main,
        ["dashboards", "export", "--name", "department", "--user", dashboards.EMAILS[Role.DEPARTMENT_HEAD],
         "--output-dir", str(tmp_path / "head")],
    )  # fmt: skip
    admin = CliRunner().invoke(
        main,
        ["dashboards", "export", "--name", "department", "--department", dashboards.A,
         "--output-dir", str(tmp_path / "admin")],
    )  # fmt: skip
    assert head.exit_code == 0 and admin.exit_code == 0, head.output + admin.output
    head_html = (tmp_path / "head" / "department.html").read_text()
    admin_html = (tmp_path / "admin" / "department.html").read_text()
    assert _leaks(head_html) == [] and "[email]" in head_html
    assert EMAIL in admin_html
