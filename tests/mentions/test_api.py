"""GET /api/mentions: filters, paging, and a department head's view; copypasta across the ways in."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from feedback.analysis.matching import Matcher, Rule
from feedback.analysis.noise import NoiseRules
from feedback.db import transaction
from feedback.errors import InvalidInput
from feedback.mentions.rules import IngestOptions
from feedback.mentions.store import store_mentions, target
from feedback.models import Mention, Role
from tests import factories
from tests.factories import bearer

RULES = Matcher(
    [
        Rule(keywords=("courier", "parcel"), product="Delivery", department="delivery"),
        Rule(keywords=("support",), department="support"),
    ]
)


def ingest(sessions, source: str, items: list[dict[str, Any]], accounts: int = 3) -> None:  # type: ignore[no-untyped-def]
    factories.department(sessions, "delivery", "Delivery")
    factories.department(sessions, "support", "Support")
    options = IngestOptions(RULES, NoiseRules(min_words=3, copypasta_accounts=accounts), 40_000, accounts)
    with transaction(sessions) as session:
        preparer = options.preparer(source, "import", datetime.now(UTC), target(session, RULES))
        rows = [preparer.prepare(item) for item in items]
        assert all(isinstance(r, tuple) for r in rows), rows
        store_mentions(session, rows, accounts)  # type: ignore[arg-type]


def post(n: int, text: str, day: int, **extra: Any) -> dict[str, Any]:
    return {
        "source_id": str(n),
        "text": text,
        "posted_at": f"2026-11-{day:02d}T10:00:00Z",
        "author": f"a{n}",
        **extra,
    }


def seed(sessions) -> None:  # type: ignore[no-untyped-def]
    ingest(
        sessions,
        "twitter",
        [
            post(1, "The courier threw my parcel over the fence, awful and rude", 1),
            post(2, "Support was wonderful and kind today, thank you", 2),
            post(3, "lol", 3),
            post(4, "the app works fine on my phone now", 4, product="Mobile app"),
        ],
    )
    ingest(sessions, "reddit", [post(5, "Does anyone know when support opens on Sunday", 5)])


def ids(answer: Any) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [m["source_id"] for m in answer.json()]


def test_readers_filter_mentions(client, sessions) -> None:
    seed(sessions)
    reader = bearer(factories.token(sessions, Role.EXECUTIVE))
    assert client.get("/api/mentions").status_code == 401
    assert ids(client.get("/api/mentions", headers=reader)) == ["5", "4", "3", "2", "1"]  # newest first
    assert ids(client.get("/api/mentions?source=reddit", headers=reader)) == ["5"]
    assert ids(client.get("/api/mentions?source=X", headers=reader)) == []
    assert ids(
        client.get("/api/mentions?since=2026-11-02T00:00:00Z&until=2026-11-04T00:00:00Z", headers=reader)
    ) == ["3", "2"]
    assert ids(client.get("/api/mentions?product=Delivery", headers=reader)) == ["1"]
    assert ids(client.get("/api/mentions?product=Mobile app", headers=reader)) == ["4"]
    assert ids(client.get("/api/mentions?sentiment=negative", headers=reader)) == ["1"]
    assert ids(client.get("/api/mentions?sentiment=positive", headers=reader)) == ["4", "3", "2"]  # "lol"
    assert ids(client.get("/api/mentions?sentiment=positive&noise=exclude", headers=reader)) == ["4", "2"]
    assert "5" in ids(client.get("/api/mentions?sentiment=neutral", headers=reader))
    assert ids(client.get("/api/mentions?noise=only", headers=reader)) == ["3"]
    assert "3" not in ids(client.get("/api/mentions?noise=exclude", headers=reader))
    assert client.get("/api/mentions?sentiment=angry", headers=reader).status_code == 400
    body = client.get("/api/mentions?source=twitter&noise=only&limit=1", headers=reader).json()[0]
    assert body["department"] is None and body["noise"] == "short" and body["analyzer"].startswith("textblob")
    first = client.get("/api/mentions?limit=2", headers=reader).json()
    assert [m["source_id"] for m in first] == ["5", "4"]
    rest = client.get(f"/api/mentions?limit=2&before_id={first[-1]['id']}", headers=reader)
    assert ids(rest) == ["3", "2"]
    routed = client.get("/api/mentions?product=Delivery", headers=reader).json()[0]
    assert routed["department"] == "delivery"


@pytest.mark.parametrize("before_id", ["10133838811303", "2147483648", "0", "-1"])
def test_a_before_id_no_row_can_have_is_a_400_naming_it(client, sessions, before_id: str) -> None:
    # Found by fuzzing: an id beyond PostgreSQL's integer made the database fail (500).
    reader = bearer(factories.token(sessions, Role.EXECUTIVE))
    answer = client.get(f"/api/mentions?before_id={before_id}", headers=reader)
    assert answer.status_code == 400, answer.text
    assert [e["field"] for e in answer.json()["errors"]] == ["before_id"]


def test_a_department_head_sees_only_mentions_routed_to_their_department(client, sessions) -> None:
    seed(sessions)
    head = bearer(factories.token(sessions, Role.DEPARTMENT_HEAD, department="support"))
    assert ids(client.get("/api/mentions", headers=head)) == ["5", "2"]
    assert ids(client.get("/api/mentions?source=twitter", headers=head)) == ["2"]
    with sessions() as session:
        delivery_id = session.scalar(select(Mention.id).where(Mention.source_id == "1"))
    assert client.get(f"/api/mentions?before_id={delivery_id}", headers=head).status_code == 422


def test_copypasta_is_flagged_on_every_copy_once_enough_accounts_post_it(sessions) -> None:
    words = "Acme stole my money, never buy from them, spread the word"
    ingest(sessions, "twitter", [post(10, words, 1), post(11, words.upper() + "!!", 1)])
    ingest(sessions, "twitter", [post(12, "RT @a10: " + words, 1)])  # a retweet is a repost, not a copy
    with sessions() as session:
        assert session.scalars(select(Mention.noise).order_by(Mention.source_id)).all() == [
            None,
            None,
            "repost",
        ]
    ingest(sessions, "reddit", [post(13, words + " https://spam.example/x", 2)])  # a third account
    ingest(sessions, "reddit", [{**post(14, words, 2), "author": "a13"}])  # the same account again
    with sessions() as session:
        flags = dict(session.execute(select(Mention.source_id, Mention.noise)).all())
    assert flags == {
        "10": "copypasta",
        "11": "copypasta",
        "12": "repost",
        "13": "copypasta",
        "14": "copypasta",
    }


def test_the_copypasta_threshold_is_configurable(sessions) -> None:
    words = "Acme stole my money, never buy from them"
    ingest(sessions, "twitter", [post(20, words, 1), post(21, words, 1), post(22, words, 1)], accounts=4)
    with sessions() as session:
        assert set(session.scalars(select(Mention.noise))) == {None}
    ingest(sessions, "twitter", [post(20, words, 1), post(21, words, 1), post(22, words, 1)], accounts=0)
    ingest(sessions, "twitter", [post(23, words, 1)], accounts=4)
    with sessions() as session:
        assert set(session.scalars(select(Mention.noise))) == {"copypasta"}


def test_each_mention_is_stored_once_whatever_the_way_in(sessions) -> None:
    ingest(sessions, "x", [post(30, "The courier was late again this week", 1)])  # x is twitter
    ingest(
        sessions, "twitter", [post(30, "Edited: the courier was late", 2), post(30, "twice in a batch", 2)]
    )
    with sessions() as session:
        rows = session.scalars(select(Mention)).all()
    assert len(rows) == 1 and rows[0].source == "twitter" and rows[0].text.startswith("The courier")
    assert rows[0].posted_at == datetime(2026, 11, 1, 10, tzinfo=UTC)
    with sessions() as session:  # timestamps compare as the ORM stores them, on every backend
        found = session.scalars(
            select(Mention.source_id).where(Mention.posted_at >= datetime(2026, 11, 1, 10, tzinfo=UTC))
        )
        assert found.all() == ["30"]


def test_rules_naming_an_unknown_department_are_refused(sessions) -> None:
    with transaction(sessions) as session, pytest.raises(InvalidInput) as refused:
        target(session, RULES)
    assert [e.field for e in refused.value.errors] == ["rules[0].department", "rules[1].department"]
