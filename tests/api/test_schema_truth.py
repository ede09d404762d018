"""What the OpenAPI schema declares is what the server does (the cases schemathesis found, one by one)."""

from __future__ import annotations

import re

import pytest

from feedback.models import Role
from tests import factories
from tests.factories import bearer


@pytest.fixture
def reader(client, sessions) -> dict[str, str]:  # type: ignore[no-untyped-def]
    factories.survey(sessions)
    return bearer(factories.token(sessions, Role.EXECUTIVE))


def _parameter(schema: dict, path: str, name: str) -> dict:  # type: ignore[type-arg]
    found = [p for p in schema["paths"][path]["get"]["parameters"] if p["name"] == name]
    return found[0]["schema"]  # type: ignore[no-any-return]


def test_the_schema_declares_what_the_server_accepts(client, reader) -> None:
    schema = client.get("/schema/openapi.json").json()
    status = _parameter(schema, "/api/causes", "status")
    assert re.match(status["pattern"], "active,candidate") and not re.match(status["pattern"], "open")
    assert _parameter(schema, "/api/digests/runs", "department")["minLength"] == 1
    until = _parameter(schema, "/api/mentions", "until")
    assert re.match(until["pattern"], "2026-11-01T08:00:00Z") and not re.match(until["pattern"], "0.5")
    assert schema["components"]["schemas"]["CauseIn"]["additionalProperties"] is False


@pytest.mark.parametrize(
    "path",
    ["/api/causes?status=open", "/api/digests/runs?department=", "/api/mentions?until=0.5"],
)
def test_values_the_schema_forbids_are_refused(client, reader, path: str) -> None:
    answer = client.get(path, headers=reader)
    assert answer.status_code == 400, answer.text
    assert answer.json()["errors"], answer.text


def test_values_the_schema_allows_are_accepted(client, reader) -> None:
    for path in ("/api/causes?status=retired,merged", "/api/mentions?until=2026-11-01", "/api/digests/runs"):
        assert client.get(path, headers=reader).status_code == 200, path


def test_a_body_is_read_as_strictly_as_declared(client, sessions) -> None:
    admin = bearer(factories.token(sessions, Role.ADMIN))
    factories.department(sessions)
    lax = client.post("/api/surveys", json=factories.survey_spec(anonymous_link=0), headers=admin)
    assert lax.status_code == 400 and lax.json()["errors"][0]["field"] == "anonymous_link", lax.text
    question = {"key": "comment", "type": "text", "prompt": "Anything else?", "max_length": 300.0}
    spec = factories.survey_spec(questions=[question])
    whole = client.post("/api/surveys", json=spec, headers=admin)  # 300.0 is an integer in JSON Schema
    assert whole.status_code == 201, whole.text


def test_405_and_options_name_every_method_of_the_path(client) -> None:
    refused = client.request("TRACE", "/api/causes")
    options = client.options("/api/causes")
    assert refused.status_code == 405 and options.status_code == 204
    for answer in (refused, options):
        assert {m.strip() for m in answer.headers["allow"].split(",")} >= {"GET", "POST", "OPTIONS"}


def test_a_list_of_names_declares_what_each_name_may_hold(client, sessions) -> None:
    """A choice with a control character is refused (400), so the schema says so of each choice."""
    schema = client.get("/schema/openapi.json").json()
    choices = schema["components"]["schemas"]["QuestionSpec"]["properties"]["choices"]
    [items] = [option["items"] for option in choices["oneOf"] if option.get("type") == "array"]
    assert items["maxLength"] == 200 and items["minLength"] == 1
    assert re.match(items["pattern"], "Blue") and not re.match(items["pattern"], "Bl\u0082ue")
    admin = bearer(factories.token(sessions, Role.ADMIN))
    factories.department(sessions)
    question = {"key": "colour", "type": "choice", "prompt": "Which?", "choices": ["Blue", "Bl\u0082ue"]}
    refused = client.post("/api/surveys", json=factories.survey_spec(questions=[question]), headers=admin)
    assert refused.status_code == 400, refused.text
    assert refused.json()["errors"][0]["field"].endswith("choices[1]"), refused.text
