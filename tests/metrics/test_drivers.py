"""Drivers: does satisfaction move with handle time, wait time, first-contact resolution, channel?"""

from __future__ import annotations

import polars as pl
import pytest

from feedback.analysis.drivers import analyze_driver, band_labels
from feedback.models import Role
from tests import factories
from tests.factories import bearer
from tests.metrics.data import at, store


def calls(short_nps: list[int], long_nps: list[int]) -> pl.DataFrame:
    """Short calls (2 minutes) and long calls (8 minutes) with the given NPS answers."""
    return pl.DataFrame(
        {
            "handle_time_s": [120] * len(short_nps) + [480] * len(long_nps),
            "nps": short_nps + long_nps,
            "first_contact_resolved": [False] * len(short_nps) + [True] * len(long_nps),
        }
    )


def test_short_calls_with_unhappy_customers_are_called_out() -> None:
    frame = calls(short_nps=[2, 3, 9, 5, 6] * 20, long_nps=[9, 10, 8, 10, 6] * 20)
    result = analyze_driver(frame, "nps", "handle_time", bands=[3, 6], min_n=30)
    short = next(g for g in result.groups if g.label == "under 3 min")
    assert (short.n, short.value) == (100, pytest.approx(-60.0))  # 1 promoter, 4 detractors in 5
    assert short.rest_value == pytest.approx(40.0) and short.difference == pytest.approx(-100.0)
    assert short.difference_high is not None and short.difference_high < 0
    assert [g.label for g in result.groups] == ["under 3 min", "6 min or more"]  # empty bands left out
    assert result.correlation is not None and result.correlation.r > 0
    assert result.correlation.low is not None and result.correlation.low > 0
    reading = next(
        line for line in result.readings if line.startswith("Customers whose handle time was under 3")
    )
    assert "NPS 100 points lower" in reading and "n=100 vs 100" in reading


def test_no_difference_is_reported_as_none_and_small_groups_as_too_few() -> None:
    same = analyze_driver(calls([9, 0] * 40, [9, 0] * 40), "nps", "handle_time", bands=[3, 6])
    assert any("no clear difference" in line for line in same.readings)
    few = analyze_driver(calls([0] * 5, [10] * 100), "nps", "handle_time", bands=[3, 6], min_n=30)
    assert any("too few answers to tell (n=5" in line for line in few.readings)


def test_first_contact_resolution_as_a_driver() -> None:
    result = analyze_driver(calls([0] * 40, [10] * 40), "nps", "first_contact_resolved")
    labels = {g.label: g.value for g in result.groups}
    assert labels == {"not resolved at the first contact": -100.0, "resolved at the first contact": 100.0}


def test_band_labels() -> None:
    assert band_labels([3, 6, 10]) == ["under 3 min", "3-6 min", "6-10 min", "10 min or more"]


def test_drivers_api(client, sessions) -> None:
    factories.survey(sessions)
    rows = [{"at": at("2026-10-05 10:00"), "answers": {"nps": 2}, "context": {"handle_time_s": 90}}] * 40 + [
        {"at": at("2026-10-05 10:00"), "answers": {"nps": 10}, "context": {"handle_time_s": 600}}
    ] * 40
    store(sessions, rows)
    head = bearer(factories.token(sessions, Role.DEPARTMENT_HEAD, department="support"))
    params = {
        "metric": "nps",
        "driver": "handle_time",
        "bands": "3,6",
        "since": "2026-10-01",
        "until": "2026-11-01",
    }
    answer = client.get("/api/metrics/drivers", params=params, headers=head)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["n"] == 80
    assert [(g["label"], g["value"]) for g in body["groups"]] == [
        ("under 3 min", -100.0),
        ("6 min or more", 100.0),
    ]
    assert any("lower than the others" in line for line in body["readings"])
    unknown = client.get("/api/metrics/drivers", params={**params, "driver": "mood"}, headers=head)
    assert unknown.status_code == 400  # not one of the schema's drivers
    assert [e["field"] for e in unknown.json()["errors"]] == ["driver"]
