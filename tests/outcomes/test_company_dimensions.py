"""Company fields as /api/metrics dimensions: categories split and filter by value, numbers by bands."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import factories

FIELDS = """
[[fields]]
name = "days_late"
type = "numeric"
bands = [0, 3]

[[fields]]
name = "plan"
type = "categorical"

[[fields]]
name = "order_value"
type = "numeric"
"""
# customer: (days late, plan, CSAT answer)
CUSTOMERS = {
    "c1": (0, "pro", 5),
    "c2": (-1, "pro", 4),
    "c3": (1, "pro", 4),
    "c4": (3, "basic", 2),
    "c5": (5, "basic", 1),
    "c6": (12, "basic", 4),
    "c7": (None, "pro", 5),
    "c8": (2, None, 3),
}


@pytest.fixture
def declared(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "fields.toml"
    path.write_text(FIELDS)
    monkeypatch.setenv("FEEDBACK_CONTEXT_FIELDS_FILE", str(path))
    return path


def _csat(scores: list[int]) -> float:
    return 100 * sum(s >= 4 for s in scores) / len(scores)


def _band(days: float) -> str:
    return "<= 0" if days <= 0 else "0-3" if days <= 3 else "> 3"


@pytest.fixture
def answered(declared: Path, sessions, client) -> dict[str, str]:
    factories.survey(sessions)
    rows = []
    for customer, (days, plan, _) in CUSTOMERS.items():
        row = {"customer_id": customer, "order_value": str(10 * len(rows))}
        row |= {"days_late": str(days)} if days is not None else {}
        row |= {"plan": plan} if plan else {}
        rows.append(row)
    tokens = factories.invite(sessions, rows)
    for token, (_, _, score) in zip(tokens, CUSTOMERS.values(), strict=True):
        sent = client.post(
            "/api/surveys/support-followup/responses",
            json={"token": token, "answers": {"nps": 8, "csat": score}},
        )
        assert sent.status_code == 201, sent.text
    return factories.bearer(factories.token(sessions))


def _rows(client, admin: dict[str, str], query: str) -> dict[str | None, tuple[float, int]]:
    answer = client.get(f"/api/metrics?metric=csat&min_n=1&{query}", headers=admin)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    return {next(iter(r["group"].values()), None): (r["value"], r["n"]) for r in body["rows"]}


def test_metrics_split_by_a_category_and_by_the_declared_bands_of_a_number(client, answered) -> None:
    by_plan: dict[str | None, list[int]] = {}
    by_band: dict[str | None, list[int]] = {}
    for days, plan, score in CUSTOMERS.values():
        by_plan.setdefault(plan, []).append(score)
        by_band.setdefault(None if days is None else _band(days), []).append(score)
    expected_plan = {k: (pytest.approx(_csat(v)), len(v)) for k, v in by_plan.items()}
    expected_band = {k: (pytest.approx(_csat(v)), len(v)) for k, v in by_band.items()}
    assert _rows(client, answered, "by=plan") == expected_plan
    assert _rows(client, answered, "by=days_late") == expected_band
    assert set(_rows(client, answered, "by=order_value")) == {"<= 17.5", "17.5-35", "35-52.5", "> 52.5"}


def test_metrics_filter_by_a_category_and_by_a_band(client, answered) -> None:
    pro = [s for _, plan, s in CUSTOMERS.values() if plan == "pro"]
    assert _rows(client, answered, "plan=pro") == {None: (pytest.approx(_csat(pro)), len(pro))}
    late = [s for d, _, s in CUSTOMERS.values() if d is not None and _band(d) in ("0-3", "> 3")]
    assert _rows(client, answered, "days_late=0-3,>%203") == {None: (pytest.approx(_csat(late)), len(late))}
    both = [s for d, p, s in CUSTOMERS.values() if p == "basic" and d is not None and _band(d) == "> 3"]
    assert _rows(client, answered, "plan=basic&days_late=>%203&by=plan") == {
        "basic": (pytest.approx(_csat(both)), len(both))
    }


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("by=colour", "by"),
        ("days_late=soon", "days_late"),
        ("order_value=1-2", "order_value"),  # no declared bands: split by quartiles, not filtered
        (f"plan={'x' * 129}", "plan"),
        ("metric=mention_volume&by=plan", "by"),
    ],
)
def test_bad_company_field_names_and_values_are_422_naming_the_parameter(
    client, answered, query: str, field: str
) -> None:
    answer = client.get(f"/api/metrics?{query}", headers=answered)
    assert answer.status_code == 422, answer.text
    assert [e["field"] for e in answer.json()["errors"]] == [field]
