"""The error answers: one JSON shape, declared in the OpenAPI schema of every API operation."""

from __future__ import annotations

from feedback.web.errors import ERROR_STATUSES
from tests import factories


def test_every_api_operation_declares_its_error_answers_in_the_error_shape(client) -> None:
    # Found by fuzzing: 401, 404, 409, 413, 422 and 503 answered by the API were in no operation's schema.
    schema = client.get("/schema/openapi.json").json()
    assert schema["components"]["schemas"]["ErrorOut"]["required"] == ["detail", "status_code"]
    operations = [
        (path, method, operation)
        for path, methods in schema["paths"].items()
        if path.startswith("/api/")
        for method, operation in methods.items()
    ]
    assert len(operations) > 30
    for path, method, operation in operations:
        for status in ERROR_STATUSES:
            declared = operation["responses"].get(str(status))
            assert declared is not None, f"{method.upper()} {path} does not declare {status}"
            body = declared["content"]["application/json"]["schema"]
            assert body == {"$ref": "#/components/schemas/ErrorOut"}, (method, path, status)


def test_an_error_answer_has_the_declared_shape(client, sessions) -> None:
    factories.survey(sessions)
    answer = client.get("/api/surveys/nope", headers=factories.bearer(factories.token(sessions)))
    assert answer.status_code == 404
    assert set(answer.json()) == {"status_code", "detail", "errors"} and answer.json()["status_code"] == 404
