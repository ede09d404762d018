"""One rule for every point in time in a query (issue 12, item 2): an ISO 8601 date or time; a time without a
zone is UTC (in /api/metrics, the report's tz, UTC by default); a date alone is its midnight; anything else is
a 422 naming the parameter. And no 500 without a log line: an unexpected error is logged with its traceback
and a request id that the answer carries too."""

from __future__ import annotations

import logging

import pytest

from feedback.models import Role
from tests import factories
from tests.factories import bearer
from tests.mentions.test_api import seed as seed_mentions

RESPONSES = "/api/surveys/support-followup/responses"
TIME_PARAMETERS = [
    ("/api/mentions", "since"),
    ("/api/mentions", "until"),
    (RESPONSES, "before"),
    ("/api/sentiment/disagreements", "since"),
    ("/api/sentiment/disagreements", "until"),
    ("/api/sentiment/unscored?kind=comment", "since"),
    ("/api/sentiment/unscored?kind=comment", "until"),
    ("/api/sentiment/unscored?kind=mention", "since"),
    ("/api/sentiment/unscored?kind=mention", "until"),
    ("/api/metrics", "since"),
    ("/api/metrics", "until"),
    ("/api/metrics/drivers?metric=nps&driver=channel", "since"),
    ("/api/metrics/drivers?metric=nps&driver=channel", "until"),
]


@pytest.fixture
def reader(client, sessions) -> dict[str, str]:  # type: ignore[no-untyped-def]
    seed_mentions(sessions)
    factories.survey(sessions)
    for nps, comment in [(2, "rude and slow, awful"), (10, "wonderful, thank you"), (7, "")]:
        answers = {"nps": nps, "comment": comment} if comment else {"nps": nps, "csat": 4}
        assert client.post(RESPONSES, json={"answers": answers}).status_code == 201
    return bearer(factories.token(sessions, Role.EXECUTIVE))


def get(client, path: str, name: str, value: str, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    joiner = "&" if "?" in path else "?"
    return client.get(f"{path}{joiner}{name}={value}", headers=headers)


@pytest.mark.parametrize(("path", "name"), TIME_PARAMETERS)
def test_a_time_without_a_zone_is_utc_and_a_date_is_its_midnight(client, reader, path, name) -> None:
    answers = {
        value: get(client, path, name, value, reader)
        for value in (
            "2026-11-03T00:00:00",
            "2026-11-03T00:00:00Z",
            "2026-11-03T01:00:00%2B01:00",
            "2026-11-03",
        )
    }
    for value, answer in answers.items():
        assert answer.status_code == 200, (value, answer.text)
    if path in ("/api/mentions", RESPONSES):  # lists: the same rows whichever way the time is written
        assert len({answer.text for answer in answers.values()}) == 1


@pytest.mark.parametrize(("path", "name"), TIME_PARAMETERS)
def test_a_bad_time_is_refused_naming_its_parameter(client, reader, path, name) -> None:
    # Not the declared shape (the schema's ISO pattern): 400, as any value of the wrong type; the shape of a
    # time but no real one (month 13, hour 25, year 1): 422, as any value that breaks a rule (README, API).
    cases = {
        "yesterday": 400,
        "0.5": 400,
        "2026-13-01": 400,
        "0001-01-01T00:00:00": 422,
        "2026-11-03T25:00": 422,
    }
    for value, status in cases.items():
        answer = get(client, path, name, value, reader)
        assert answer.status_code == status, (value, answer.text)
        assert [e["field"] for e in answer.json()["errors"]] == [name], value


def test_naive_and_zoned_times_select_the_same_mentions(client, reader) -> None:
    naive = get(client, "/api/mentions", "since", "2026-11-02T00:00:00&until=2026-11-04T00:00:00", reader)
    assert [m["source_id"] for m in naive.json()] == ["3", "2"]


def test_an_unexpected_error_is_logged_with_the_request_id_the_500_carries(
    client, sessions, monkeypatch, caplog
) -> None:
    from feedback.departments import service as departments

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("a bug nobody expected")

    monkeypatch.setattr(departments, "list_departments", broken)
    admin = bearer(factories.token(sessions))
    with caplog.at_level(logging.ERROR):
        answer = client.get("/api/departments", headers=admin)
    assert answer.status_code == 500
    request_id = answer.json()["request_id"]
    assert len(request_id) >= 12 and request_id in answer.json()["detail"]
    assert answer.headers["X-Request-Id"] == request_id
    assert "a bug nobody expected" not in answer.text
    [record] = [r for r in caplog.records if request_id in r.getMessage()]
    assert record.exc_info is not None and "a bug nobody expected" in str(record.exc_info[1])
    assert "GET /api/departments" in record.getMessage()
