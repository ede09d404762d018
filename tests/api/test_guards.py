"""Text with a NUL character is refused with a 422 naming the field, the same on SQLite and PostgreSQL.

Found by fuzzing: on PostgreSQL such text made the database driver fail (500) in filters, path
parameters and bodies alike; on SQLite it was stored.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from feedback.models import Response
from tests import factories
from tests.factories import bearer

MESSAGE = "must not contain a NUL character (\\u0000)"


def fields(answer) -> list[str]:  # type: ignore[no-untyped-def]
    assert answer.status_code == 422, answer.text
    assert {e["message"] for e in answer.json()["errors"]} <= {MESSAGE, "a key " + MESSAGE}
    return [e["field"] for e in answer.json()["errors"]]


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/digests/alerts?department=support%00", "department"),
        ("/api/metrics?team=a%00b", "team"),
        ("/api/mentions?source=%00", "source"),
        ("/api/surveys/support-followup%00", "slug"),
        ("/api/causes/%00", "key"),
    ],
)
def test_nul_in_a_query_or_path_parameter_is_refused(client, sessions, url: str, field: str) -> None:
    factories.survey(sessions)
    admin = bearer(factories.token(sessions))
    assert fields(client.get(url, headers=admin)) == [field]


def test_nul_in_a_json_body_is_refused_naming_each_field_and_nothing_is_stored(client, sessions) -> None:
    factories.survey(sessions)
    admin = bearer(factories.token(sessions))
    submit = "/api/surveys/support-followup/responses"
    answer = client.post(submit, json={"answers": {"nps": 3, "comment": "late\x00"}})
    assert fields(answer) == ["answers.comment"]
    invitations = {"invitations": [{"email": "a@example.com"}, {"email": "b@example.com", "team": "\x00"}]}
    answer = client.post("/api/surveys/support-followup/invitations", json=invitations, headers=admin)
    assert fields(answer) == ["invitations[1].team"]
    department = {"slug": "billing", "name": "Bill\x00ing"}
    assert fields(client.post("/api/departments", json=department, headers=admin)) == ["name"]
    assert [d["slug"] for d in client.get("/api/departments", headers=admin).json()] == ["support"]
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Response)) == 0


def test_a_key_with_nul_is_named_by_its_place(client, sessions) -> None:
    factories.survey(sessions)
    answer = client.post(
        "/api/surveys/support-followup/responses", json={"answers": {"nps": 3, "c\x00": "x"}}
    )
    assert fields(answer) == ["answers.c\\u0000"]


def test_text_that_only_spells_a_nul_escape_is_stored_as_written(client, sessions) -> None:
    factories.survey(sessions)
    admin = bearer(factories.token(sessions))
    comment = "the code \\u0000 broke my invoice"
    answer = client.post(
        "/api/surveys/support-followup/responses", json={"answers": {"nps": 3, "comment": comment}}
    )
    assert answer.status_code == 201, answer.text
    stored = client.get("/api/surveys/support-followup/responses", headers=admin).json()
    assert [a["value"] for a in stored[0]["answers"] if a["question"] == "comment"] == [comment]
