"""The comments behind a cause through the API (``GET /api/causes/{id}/items``: cursor-paged, newest first,
scoped and redacted like the other cause routes), and digests that show only the scores a department asks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from feedback.config import Settings
from feedback.digests.content import DigestRequest, build_digests
from feedback.digests.render import render_digest
from feedback.models import Department, Role
from tests import factories
from tests.dashboards import people
from tests.dashboards.data import A, B


def items(client: Any, token: str, key: str, **params: Any) -> Any:
    return client.get(f"/api/causes/{key}/items", params=params, headers=factories.bearer(token))


def test_a_causes_items_come_newest_first_a_page_at_a_time(
    client: Any, sessions: sessionmaker[Session]
) -> None:
    people.seed(sessions)
    admin = factories.token(sessions, Role.ADMIN)
    seen: list[dict[str, Any]] = []
    cursor = None
    pages = 0
    while True:
        answer = items(client, admin, "alpha-refunds", limit=25, **({"cursor": cursor} if cursor else {}))
        assert answer.status_code == 200, answer.text
        body = answer.json()
        seen += body["items"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 3 and len(seen) == people.ASSIGNED
    times = [item["occurred_at"] for item in seen]
    assert times == sorted(times, reverse=True) and len(set(times)) == len(times)  # no repeats
    assert all(i["kind"] == "comment" and i["department"] == A and i["nps"] is not None for i in seen)
    assert people.SECRET_EMAIL in seen[0]["text"]  # an admin reads it as written

    executive = factories.token(sessions, Role.EXECUTIVE)
    first = items(client, executive, "alpha-refunds", limit=5).json()["items"]
    assert "[email]" in first[0]["text"] and people.SECRET_EMAIL not in str(first)

    head_b = factories.token(sessions, Role.DEPARTMENT_HEAD, B)
    assert items(client, head_b, "alpha-refunds").status_code == 404  # another department's cause
    assert items(client, head_b, "bravo-refunds").status_code == 200
    assert items(client, admin, "no-such-cause").status_code == 404
    bad = items(client, admin, "alpha-refunds", cursor="not-a-cursor")
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "cursor"
    assert items(client, admin, "alpha-refunds", limit=0).status_code in (400, 422)
    assert client.get("/api/causes/alpha-refunds/items").status_code == 401


def test_digests_show_only_the_scores_a_department_asks(
    sessions: sessionmaker[Session], database_url: str
) -> None:
    people.seed(sessions)
    settings = Settings(database_url=database_url, base_url="http://feedback.test", secret_key="test")
    end = datetime.now(UTC)
    with sessions() as session:
        departments = {d.slug: d for d in session.query(Department).all()}
        requests = [DigestRequest(departments[s], end - timedelta(days=7), end, 1) for s in (people.C, A)]
        charlie, alpha = (b.digest for b in build_digests(session, settings, requests, end))
    assert [h.metric for h in charlie.headline] == [
        "csat",
        "dissatisfied",
        "volume",
    ]  # dissatisfied: from any score asked
    assert charlie.not_asked == [
        "Charlie Delivery's surveys do not ask NPS",
        "Charlie Delivery's surveys do not ask CES",
    ]
    late = next(i for i in charlie.items if i.cause == "charlie-late")
    assert late.points_metric == "csat" and late.points_lost == 3.4  # its ledger has NPS points too
    message = render_digest(charlie, 30)
    assert "NPS points" not in message.html and "NPS points" not in message.text
    assert "costs 3.4 CSAT points" in message.text
    assert "Charlie Delivery's surveys do not ask NPS." in message.text
    assert [h.metric for h in alpha.headline] == ["nps", "csat", "ces", "dissatisfied", "volume"]
    assert alpha.not_asked == []
