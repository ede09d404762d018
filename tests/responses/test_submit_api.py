"""Other systems submit responses through the JSON API; retries with an Idempotency-Key are safe."""

from __future__ import annotations

import asyncio

from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from feedback.config import Settings
from feedback.models import Response
from feedback.web.app import create_app
from tests import factories


def stored(sessions) -> int:  # type: ignore[no-untyped-def]
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(Response)) or 0)


def test_submit_with_an_invitation_token(client, sessions) -> None:
    factories.survey(sessions)
    [token] = factories.invite(sessions, [{"email": "ann@example.com", "channel": "chat"}])
    body = {"token": token, "answers": {"nps": 9, "comment": "Quick and friendly, thank you!"}}
    first = client.post("/api/surveys/support-followup/responses", json=body)
    assert first.status_code == 201 and first.json()["survey"] == "support-followup"
    second = client.post("/api/surveys/support-followup/responses", json=body)
    assert second.status_code == 409 and "already answered" in second.json()["detail"]
    assert stored(sessions) == 1


def test_retry_with_the_same_key_gets_the_original_answer(client, sessions) -> None:
    factories.survey(sessions)
    body = {"answers": {"nps": 6}, "context": {"channel": "app", "product": "Pro plan"}}
    headers = {"Idempotency-Key": "7f1c4e1e-retry"}
    first = client.post("/api/surveys/support-followup/responses", json=body, headers=headers)
    retry = client.post("/api/surveys/support-followup/responses", json=body, headers=headers)
    assert first.status_code == retry.status_code == 201
    assert first.json() == retry.json()
    assert retry.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    other = client.post(
        "/api/surveys/support-followup/responses", json={"answers": {"nps": 1}}, headers=headers
    )
    assert other.status_code == 422 and other.json()["errors"][0]["field"] == "Idempotency-Key"
    assert stored(sessions) == 1


def test_simultaneous_retries_store_one_row(database_url, sessions) -> None:
    factories.survey(sessions)
    app = create_app(Settings(database_url=database_url, base_url="http://testserver.local"))
    body = {"answers": {"nps": 10, "comment": "great"}}

    async def go() -> list[tuple[int, str]]:
        async with AsyncTestClient(app) as client:
            answers = await asyncio.gather(
                *[
                    client.post(
                        "/api/surveys/support-followup/responses",
                        json=body,
                        headers={"Idempotency-Key": f"same-{i // 8}"},
                    )
                    for i in range(40)
                ]
            )
        return [(a.status_code, a.json()["id"]) for a in answers]

    results = asyncio.run(go())
    assert {code for code, _ in results} == {201}
    assert len({rid for _, rid in results}) == 5
    assert stored(sessions) == 5


def test_bad_input_is_a_clear_4xx_that_stores_nothing(client, sessions) -> None:
    factories.survey(sessions)
    url = "/api/surveys/support-followup/responses"
    cases = [
        (client.post(url, content=b"{not json", headers={"content-type": "application/json"}), 400, None),
        (client.post(url, json={"answers": {"nps": 12}}), 422, "answers.nps"),
        (client.post(url, json={"answers": {"comment": "hi"}}), 422, "answers.nps"),
        (client.post(url, json={"answers": {"nps": 5, "ghost": "boo"}}), 422, "answers.ghost"),
        (client.post(url, json={"answers": {"nps": 5, "comment": "x" * 6000}}), 422, "answers.comment"),
        (client.post(url, json={"answers": {"nps": 5}, "extra": 1}), 400, "extra"),
        (
            client.post(url, json={"answers": {"nps": 5}, "context": {"wait_time_s": "soon"}}),
            400,
            "context.wait_time_s",
        ),
        (client.post(url, json={"answers": {"nps": 5}, "token": "nope"}), 404, None),
        (client.post("/api/surveys/unknown/responses", json={"answers": {"nps": 5}}), 404, None),
        (client.post(url, json={"answers": {"nps": 5}}, headers={"Idempotency-Key": "k" * 300}), 400, None),
        (client.post(url, content=b"x" * 300_000, headers={"content-type": "application/json"}), 413, None),
    ]
    for response, status, field in cases:
        assert response.status_code == status, (response.status_code, response.text)
        body = response.json()
        assert body["detail"]
        if field:
            assert field in {e["field"] for e in body["errors"]}, body
    assert stored(sessions) == 0


def test_the_openapi_schema_documents_the_api(client) -> None:
    schema = client.get("/schema/openapi.json").json()
    assert "/api/surveys/{slug}/responses" in schema["paths"]
    assert "/api/surveys/{slug}/invitations" in schema["paths"]
    assert client.get("/schema").status_code == 200
