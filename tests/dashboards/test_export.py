"""`feedback dashboards export` writes self-contained HTML files, scoped to the login they are made for."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from feedback.cli import main
from feedback.models import Role
from tests.dashboards import data
from tests.dashboards.data import EMAILS, A, B


@pytest.fixture
def env(database_url: str, sessions: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    data.seed(sessions)
    monkeypatch.setenv("FEEDBACK_DATABASE_URL", database_url)


def run(*args: str) -> Any:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result


def test_export_writes_self_contained_html(env: None, tmp_path: Path) -> None:
    tmp_path = tmp_path / "out"
    result = run("dashboards", "export", "--output-dir", str(tmp_path), "--department", A)
    assert result.exit_code == 0, result.output
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["department.html", "executive-overview.html", "social-listening.html"]
    html = (tmp_path / "executive-overview.html").read_text()
    assert re.search(r"<script[^>]*\ssrc=", html) is None  # nothing to fetch: plotly.js is inside
    assert re.search(r"<link[^>]*stylesheet", html) is None
    assert "Plotly" in html and html.count('<script type="application/json" class="figure-data"') == 10
    assert "department: alpha" in html and "_csrf_token" not in html and "/panels/" not in html
    assert B not in html.lower()


def test_export_for_a_department_head_shows_only_their_department(env: None, tmp_path: Path) -> None:
    tmp_path = tmp_path / "out"
    result = run(
        "dashboards", "export", "--output-dir", str(tmp_path), "--user", EMAILS[Role.DEPARTMENT_HEAD]
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["department.html", "social-listening.html"]
    for path in tmp_path.iterdir():
        text = path.read_text().lower()
        assert "alpha" in text and B not in text, path
    refused = CliRunner().invoke(
        main,
        [
            "dashboards",
            "export",
            "--output-dir",
            str(tmp_path),
            "--user",
            EMAILS[Role.DEPARTMENT_HEAD],
            "--name",
            "executive-overview",
        ],
    )
    assert refused.exit_code == 1 and "executive" in refused.output
    refused = CliRunner().invoke(
        main,
        [
            "dashboards",
            "export",
            "--output-dir",
            str(tmp_path),
            "--user",
            EMAILS[Role.DEPARTMENT_HEAD],
            "--department",
            B,
        ],
    )
    assert refused.exit_code == 1 and "own department" in refused.output


def test_check_reports_broken_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('title = "x"\naudience = ["admin"]\n[[panels]]\nid = "a"\ntitle = "A"\nmetric = "nope"\n')
    result = CliRunner().invoke(main, ["dashboards", "check", str(bad)])
    assert result.exit_code == 1 and f"{bad}: panels[0].metric" in result.output
    assert CliRunner().invoke(main, ["dashboards", "check"]).exit_code == 0
