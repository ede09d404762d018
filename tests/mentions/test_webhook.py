"""POST /api/mentions/webhook/{source}: signed batches, stored once, all or nothing."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from sqlalchemy import func, select

from feedback.mentions.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from feedback.models import Mention

SECRET = "test-secret-not-for-production"
URL = "/api/mentions/webhook/twitter"


@pytest.fixture(autouse=True)
def twitter_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEEDBACK_MENTION_SECRET_TWITTER", SECRET)
    monkeypatch.delenv("FEEDBACK_MENTION_SECRET_REDDIT", raising=False)


def batch(*items: dict[str, Any]) -> bytes:
    return json.dumps({"mentions": list(items)}).encode()


def mention(i: int, **overrides: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "source_id": f"17{i:05d}",
        "text": f"@AcmeHelp my order {i} arrived broken and nobody answers https://t.co/x{i} #fail",
        "posted_at": "2026-11-20T09:30:00Z",
        "author": f"customer{i}",
        "url": f"https://x.com/customer{i}/status/17{i:05d}",
        "lang": "en",
        "followers": 120 + i,
        "likes": 3,
        "shares": 1,
    }
    item.update(overrides)
    return item


def signed(body: bytes, secret: str = SECRET, at: int | None = None) -> dict[str, str]:
    timestamp = str(int(time.time()) if at is None else at)
    return {
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign(secret, timestamp, body),
        "Content-Type": "application/json",
    }


def stored(sessions) -> int:  # type: ignore[no-untyped-def]
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(Mention)) or 0)


def test_a_signed_batch_is_stored_normalized_and_scored(client, sessions) -> None:
    body = batch(
        mention(1), mention(2, text="Great help from the support team today, thank you!", repost=False)
    )
    answer = client.post(URL, content=body, headers=signed(body))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"received": 2, "stored": 2, "duplicates": 0}
    with sessions() as session:
        rows = {m.source_id: m for m in session.scalars(select(Mention))}
    first = rows["1700001"]
    assert first.source == "twitter" and first.via == "webhook" and first.author == "customer1"
    assert first.text.startswith("@AcmeHelp my order 1")  # the original is kept
    assert first.text_norm == "@user my order 1 arrived broken and nobody answers <url> fail"
    assert first.posted_at.isoformat() == "2026-11-20T09:30:00+00:00"
    assert first.followers == 121 and first.likes == 3 and first.shares == 1 and first.lang == "en"
    assert first.analyzer and first.analyzer.startswith("textblob")
    assert rows["1700002"].polarity is not None and rows["1700002"].polarity > 0
    assert first.noise is None


def test_the_same_batch_again_stores_nothing_new(client, sessions) -> None:
    body = batch(mention(1), mention(2))
    headers = signed(body)
    assert client.post(URL, content=body, headers=headers).json()["stored"] == 2
    replay = client.post(URL, content=body, headers=headers)  # a replay inside the window
    assert replay.status_code == 200 and replay.json() == {"received": 2, "stored": 0, "duplicates": 2}
    overlapping = batch(mention(2), mention(3))
    assert client.post(URL, content=overlapping, headers=signed(overlapping)).json()["stored"] == 1
    assert stored(sessions) == 3


@pytest.mark.parametrize(
    "headers",
    [
        {},  # not signed
        {TIMESTAMP_HEADER: str(int(time.time()))},  # no signature
        "wrong-secret",
        "other-body",
        "stale",
        "future",
        "not-a-number",
    ],
)
def test_a_bad_or_stale_signature_gets_401_and_stores_nothing(client, sessions, headers: Any) -> None:
    body = batch(mention(1))
    if headers == "wrong-secret":
        headers = signed(body, secret="guessed")
    elif headers == "other-body":
        headers = signed(batch(mention(2)))
    elif headers == "stale":
        headers = signed(body, at=int(time.time()) - 301)  # default window: 5 minutes
    elif headers == "future":
        headers = signed(body, at=int(time.time()) + 301)
    elif headers == "not-a-number":
        headers = {TIMESTAMP_HEADER: "yesterday", SIGNATURE_HEADER: sign(SECRET, "yesterday", body)}
    answer = client.post(URL, content=body, headers=headers)
    assert answer.status_code == 401, answer.text
    assert stored(sessions) == 0


def test_a_source_without_a_secret_accepts_nothing(client, sessions) -> None:
    body = batch(mention(1))
    answer = client.post("/api/mentions/webhook/reddit", content=body, headers=signed(body))
    assert answer.status_code == 401 and "secret" in answer.json()["detail"]
    assert stored(sessions) == 0


def test_the_replay_window_is_configurable(
    database_url: str, sessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    from litestar.testing import TestClient

    from feedback.config import Settings
    from feedback.web.app import create_app

    monkeypatch.setenv("FEEDBACK_MENTION_REPLAY_WINDOW_S", "3600")
    body = batch(mention(1))
    with TestClient(create_app(Settings(database_url=database_url))) as wide:
        answer = wide.post(URL, content=body, headers=signed(body, at=int(time.time()) - 1800))
    assert answer.status_code == 200 and stored(sessions) == 1


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"text": "no id"}, "mentions[1].source_id"),
        (mention(9, posted_at="last tuesday"), "mentions[1].posted_at"),
        (mention(9, followers=-5), "mentions[1].followers"),
        (mention(9, text="   "), "mentions[1].text"),
        (mention(9, url="javascript:alert(1)"), "mentions[1].url"),
        (mention(9, colour="blue"), "mentions[1].colour"),
        (mention(9, likes="many"), "mentions[1].likes"),
    ],
)
def test_a_malformed_item_gets_422_naming_it_and_nothing_is_stored(
    client, sessions, item, field: str
) -> None:
    body = batch(mention(1), item, mention(3))
    answer = client.post(URL, content=body, headers=signed(body))
    assert answer.status_code == 422, answer.text
    assert field in [e["field"] for e in answer.json()["errors"]]
    assert stored(sessions) == 0


def test_not_json_is_422(client, sessions) -> None:
    body = b"{not json"
    answer = client.post(URL, content=body, headers=signed(body))
    assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "body"
