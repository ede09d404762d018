"""Dashboards are TOML files: every shipped one loads, and a broken one is explained by file and field."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import pytest

from feedback.dashboards.library import load_library
from feedback.dashboards.spec import parse_dashboard, read_dashboard
from feedback.errors import InvalidInput
from feedback.models import Role

SHIPPED = {"executive-overview", "department", "social-listening"}
GOOD_PANEL = {"id": "nps", "title": "NPS", "metric": "nps", "chart": "line", "period": "week"}


def fields(error: InvalidInput) -> dict[str, str]:
    return {e.field: e.message for e in error.errors}


def test_every_shipped_dashboard_loads_from_the_installed_package() -> None:
    names = {p.name for p in files("feedback.dashboards.specs").iterdir() if p.name.endswith(".toml")}
    assert {f"{n}.toml" for n in SHIPPED} <= names
    library = load_library()
    assert library.problems == []
    assert set(library.dashboards) >= SHIPPED
    overview = library.get("executive-overview")
    assert set(overview.audience) == {Role.EXECUTIVE, Role.ADMIN}
    metrics = {m for p in overview.panels for m in p.metrics}
    assert {"nps", "csat", "ces", "volume", "sentiment", "mention_volume"} <= metrics
    assert {p.breakdown for p in overview.panels} >= {"department", "channel", "product", "contractor"}
    assert any(p.kind == "causes" for p in overview.panels)
    department = library.get("department")
    assert {p.kind for p in department.panels} >= {"causes", "cause_trend", "verbatims", "metric"}
    assert Role.DEPARTMENT_HEAD in department.audience
    assert any(p.kind == "mentions" for p in library.get("social-listening").panels)


def test_each_problem_is_named_by_file_and_field() -> None:
    data = {
        "title": "Broken",
        "audience": ["executive", "janitor"],
        "colour": "blue",
        "panels": [
            {"id": "Bad Id", "title": "x", "metric": "nps", "chart": "pie"},
            {"id": "mix", "title": "x", "metric": ["nps", "volume"], "chart": "line"},
            {"id": "bar", "title": "x", "metric": "nps", "chart": "bar"},
            {"id": "split", "title": "x", "metric": "mention_volume", "chart": "bar", "breakdown": "channel"},
            {"id": "filt", "title": "x", "metric": "nps", "filters": {"colour": "red"}, "limit": 0},
            {"id": "nps", "title": "x", "metric": "npx"},
        ],
    }
    with pytest.raises(InvalidInput) as info:
        parse_dashboard(data, "broken", "dashboards/broken.toml")
    problems = fields(info.value)
    assert set(problems) >= {
        "dashboards/broken.toml: audience",
        "dashboards/broken.toml: colour",
        "dashboards/broken.toml: panels[0].id",
        "dashboards/broken.toml: panels[0].chart",
        "dashboards/broken.toml: panels[1].metric",
        "dashboards/broken.toml: panels[2].breakdown",
        "dashboards/broken.toml: panels[3].breakdown",
        "dashboards/broken.toml: panels[4].filters.colour",
        "dashboards/broken.toml: panels[4].limit",
        "dashboards/broken.toml: panels[5].metric",
    }, problems
    assert "janitor" in problems["dashboards/broken.toml: audience"]
    assert "share a unit" in problems["dashboards/broken.toml: panels[1].metric"]
    assert "line, bar, table" in problems["dashboards/broken.toml: panels[0].chart"]


def test_missing_fields_and_duplicate_panels() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_dashboard({"panels": [GOOD_PANEL, GOOD_PANEL]}, "x")
    assert set(fields(info.value)) == {"x.toml: title", "x.toml: audience", "x.toml: panels[1].id"}
    with pytest.raises(InvalidInput) as info:
        parse_dashboard({"title": "t", "audience": ["admin"]}, "x")
    assert "x.toml: panels" in fields(info.value)


def test_a_file_that_is_not_toml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "oops.toml"
    path.write_text('title = "unclosed\n')
    with pytest.raises(InvalidInput) as info:
        read_dashboard(path)
    assert str(path) in info.value.errors[0].field and "TOML" in info.value.errors[0].message


def test_a_company_directory_adds_and_replaces_dashboards_and_a_broken_file_hides_nothing(
    tmp_path: Path,
) -> None:
    (tmp_path / "returns.toml").write_text(
        'title = "Returns"\naudience = ["admin"]\n[[panels]]\nid = "n"\ntitle = "NPS"\nmetric = "nps"\n'
    )
    (tmp_path / "social-listening.toml").write_text(
        'title = "Our own listening"\naudience = ["admin"]\n'
        '[[panels]]\nid = "m"\ntitle = "M"\nmetric = "mentions"\n'
    )
    (tmp_path / "broken.toml").write_text('title = "B"\naudience = ["admin"]\n[[panels]]\nid = "x"\n')
    library = load_library(str(tmp_path))
    assert library.get("returns").title == "Returns"
    assert library.get("social-listening").title == "Our own listening"
    assert "executive-overview" in library.dashboards
    assert {p.field for p in library.problems} >= {f"{tmp_path / 'broken.toml'}: panels[0].title"}


def test_a_missing_company_directory_is_reported() -> None:
    library = load_library("/nonexistent/dashboards")
    assert library.problems and library.problems[0].field == "FEEDBACK_DASHBOARDS_DIR"
    assert "executive-overview" in library.dashboards
