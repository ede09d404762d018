"""Metrics read from the database (SQLite and PostgreSQL), through the service and the API."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from feedback.analysis.metrics import Period
from feedback.db import frames, transaction
from feedback.errors import Forbidden, InvalidInput
from feedback.metrics import rollups
from feedback.metrics.service import MetricsQuery, compute_many, compute_metrics
from feedback.models import Role
from tests import factories
from tests.factories import bearer
from tests.metrics.data import at, store

WINDOW = {"since": at("2026-10-01 00:00"), "until": at("2026-11-01 00:00")}


@pytest.fixture
def company(sessions):  # type: ignore[no-untyped-def]
    """Support (phone and chat) and delivery, over two weeks of October 2026, plus invitations."""
    factories.survey(sessions)
    factories.survey(sessions, slug="delivery-check", department="delivery")
    tokens = factories.invite(
        sessions, [{"email": f"c{i}@example.com", "channel": "phone"} for i in range(4)]
    )
    week1, week2 = "2026-10-05 10:00", "2026-10-12 10:00"
    rows = [
        # week 1, support phone: NPS 10, 10, 0 -> +33
        {
            "at": at(week1),
            "answers": {"nps": 10, "csat": 5, "comment": "Wonderful, helpful agent"},
            "context": {"channel": "phone"},
        },
        {"at": at(week1), "answers": {"nps": 10, "csat": 4}, "context": {"channel": "phone"}},
        {
            "at": at(week1),
            "answers": {"nps": 0, "csat": 1, "comment": "Terrible, awful wait"},
            "context": {"channel": "phone"},
        },
        # week 2, support phone: NPS 10, 10, 10, 9 (one through an invitation) -> +100
        *({"at": at(week2), "answers": {"nps": 10}, "context": {"channel": "phone"}} for _ in range(3)),
        {"at": at(week2), "answers": {"nps": 9}, "token": tokens[0]},
        # week 2, support chat
        {"at": at(week2), "answers": {"nps": 5, "ces": 6}, "context": {"channel": "chat"}},
    ]
    store(sessions, rows)
    store(
        sessions,
        [{"at": at(week2), "answers": {"nps": 3}, "context": {"channel": "phone"}}],
        slug="delivery-check",
    )
    return tokens


def rows(result, **where):  # type: ignore[no-untyped-def]
    out = []
    for row in result.table.iter_rows(named=True):
        if all(row.get(k) == v for k, v in where.items()):
            out.append(row)
    return out


def test_metrics_by_department_channel_and_week_with_change(sessions, company) -> None:
    query = MetricsQuery(
        metrics=("nps", "csat", "volume", "sentiment", "response_rate"),
        by=("department", "channel"),
        period=Period.WEEK,
        tz="Europe/Berlin",
        **WINDOW,
    )
    with sessions() as session:
        result = compute_metrics(session, query)
    [w1] = rows(result, metric="nps", department="support", channel="phone", period=date(2026, 10, 5))
    [w2] = rows(result, metric="nps", department="support", channel="phone", period=date(2026, 10, 12))
    assert (w1["value"], w1["n"], w1["small_sample"]) == (pytest.approx(100 / 3), 3, True)
    assert (w2["value"], w2["n"]) == (100.0, 4)
    assert w2["previous"] == pytest.approx(100 / 3) and w2["change"] == pytest.approx(200 / 3)
    [delivery] = rows(result, metric="nps", department="delivery")
    assert (delivery["value"], delivery["channel"]) == (-100.0, "phone")
    [csat] = rows(result, metric="csat", period=date(2026, 10, 5))
    assert csat["value"] == pytest.approx(200 / 3)
    [sentiment] = rows(result, metric="sentiment", period=date(2026, 10, 5))
    assert sentiment["n"] == 2 and -0.5 < sentiment["value"] < 0.5  # one glad comment, one angry
    assert rows(result, metric="response_rate") == []  # the invitations were sent today, not in October
    with sessions() as session:
        recent = compute_metrics(session, MetricsQuery(metrics=("response_rate",), since=WINDOW["since"]))
    [rate] = rows(recent, metric="response_rate")
    assert (rate["value"], rate["n"]) == (25.0, 4)  # 1 of 4 invitations answered


def test_filters_and_a_department_heads_scope(sessions, company) -> None:
    with sessions() as session:
        phone = compute_metrics(
            session, MetricsQuery(metrics=("volume",), filters={"channel": ("phone",)}, **WINDOW)
        )
        [row] = rows(phone, metric="volume")
        assert row["value"] == 8  # 7 support phone (one by invitation) + 1 delivery
        odd = {"channel": ("it's \\ odd",)}  # quoted safely on both backends
        quoted = MetricsQuery(metrics=("volume", "sentiment"), filters=odd, **WINDOW)
        assert compute_metrics(session, quoted).table.filter(pl.col("n") > 0).height == 0
        delivery_id = factories.department(sessions, "delivery", "Delivery")
        scoped = compute_metrics(session, MetricsQuery(metrics=("volume",), **WINDOW), scope=delivery_id)
        assert [r["value"] for r in rows(scoped, metric="volume")] == [1.0]
        with pytest.raises(Forbidden):
            compute_metrics(
                session,
                MetricsQuery(metrics=("volume",), filters={"department": ("support",)}, **WINDOW),
                scope=delivery_id,
            )
        with pytest.raises(InvalidInput):
            compute_metrics(session, MetricsQuery(metrics=("mention_volume",), by=("channel",), **WINDOW))


def test_without_period_the_change_is_against_the_window_before(sessions, company) -> None:
    store(sessions, [{"at": at("2026-09-20 10:00"), "answers": {"nps": 0}}])
    with sessions() as session:
        result = compute_metrics(session, MetricsQuery(metrics=("nps",), **WINDOW))
    [row] = rows(result, metric="nps")
    assert row["previous"] == -100.0 and row["change"] == pytest.approx(row["value"] + 100)


def test_metrics_api_scoping_and_targets(client, sessions, company) -> None:
    admin = bearer(factories.token(sessions))
    head = bearer(factories.token(sessions, Role.DEPARTMENT_HEAD, department="delivery"))
    params = {"metric": "nps,volume", "by": "department", "since": "2026-10-01", "until": "2026-11-01"}
    assert client.get("/api/metrics", params=params).status_code == 401

    everything = client.get("/api/metrics", params=params, headers=admin)
    assert everything.status_code == 200, everything.text
    assert {r["group"]["department"] for r in everything.json()["rows"]} == {"support", "delivery"}

    own = client.get("/api/metrics", params=params, headers=head).json()["rows"]
    assert {r["group"]["department"] for r in own} == {"delivery"}
    other = client.get("/api/metrics", params={**params, "department": "support"}, headers=head)
    assert other.status_code == 403

    target = {"metric": "nps", "dimension": "department", "value": "support", "target": 50}
    assert client.post("/api/targets", json=target, headers=head).status_code == 403
    assert client.post("/api/targets", json=target, headers=admin).status_code == 201
    bad = client.post("/api/targets", json={**target, "target": 150}, headers=admin)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "target"
    assert client.get("/api/targets", headers=admin).json() == [target]
    assert client.get("/api/targets", headers=head).json() == []  # another department's target

    [support] = [
        r
        for r in client.get("/api/metrics", params=params, headers=admin).json()["rows"]
        if r["metric"] == "nps" and r["group"]["department"] == "support"
    ]
    assert support["target"] == 50 and support["target_met"] is True
    assert support["target_gap"] == pytest.approx(support["value"] - 50)

    assert client.delete("/api/targets/nps/department/support", headers=admin).status_code == 204
    assert client.delete("/api/targets/nps/department/support", headers=admin).status_code == 404
    assert client.get("/api/targets", headers=admin).json() == []


def test_metrics_api_rejects_what_it_cannot_compute(client, sessions, company) -> None:
    admin = bearer(factories.token(sessions))
    # What the schema declares (names, periods, ISO times) is a 400; what only the data can tell, a 422
    # (a dimension's name: the company's own fields are declared at run time).
    for params, field, status in (
        ({"metric": "happiness"}, "metric", 400),
        ({"by": "Colour!"}, "by", 400),
        ({"by": "colour"}, "by", 422),
        ({"period": "year"}, "period", 400),
        ({"since": "yesterday"}, "since", 400),
        ({"tz": "Mars/Olympus"}, "tz", 422),
        ({"department": "nope"}, "department", 422),
    ):
        answer = client.get("/api/metrics", params=params, headers=admin)
        assert answer.status_code == status, (params, answer.text)
        assert answer.json()["errors"][0]["field"] == field


def test_targets_need_a_known_department(sessions, company) -> None:
    from feedback.targets.service import TargetSpec, set_target

    with pytest.raises(InvalidInput), transaction(sessions) as session:
        set_target(session, TargetSpec(metric="csat", dimension="department", value="nope", target=80))


def test_mention_volume_and_sentiment_by_source(sessions) -> None:
    from feedback.models import Mention

    factories.department(sessions)

    def mention(i: int, source: str, polarity: float, noise: str | None = None) -> Mention:
        moment = at("2026-10-05 10:00")
        return Mention(
            source=source,
            source_id=str(i),
            via="import",
            text="t",
            text_norm="t",
            text_hash=str(i),
            posted_at=moment,
            received_at=moment,
            polarity=polarity,
            noise=noise,
        )

    with transaction(sessions) as session:
        session.add_all(
            [
                mention(1, "twitter", 0.5),
                mention(2, "twitter", -0.1),
                mention(3, "reddit", -0.4),
                mention(4, "twitter", 1.0, noise="copypasta"),
            ]
        )
        session.flush()  # written around the services: count them
        rollups.rebuild_mentions(session.connection())
    query = MetricsQuery(metrics=("mention_volume", "mention_sentiment"), by=("source",), **WINDOW)
    with sessions() as session:
        result = compute_metrics(session, query)
    [twitter] = rows(result, metric="mention_volume", source="twitter")
    assert twitter["value"] == 2  # the copypasta is noise, not a voice
    [sentiment] = rows(result, metric="mention_sentiment", source="twitter")
    assert sentiment["value"] == pytest.approx(0.2) and sentiment["n"] == 2


@pytest.mark.parametrize("arrow_from_rows", [10**12, 0], ids=["read-here", "read-by-child"])
def test_reading_metrics_beside_open_connections_sees_every_write_and_keeps_the_database_sound(
    engine, sessions, monkeypatch, arrow_from_rows
) -> None:
    """Metrics read while other connections stay open (the server and the scheduler keep some) see each new
    write, and leave the database whole: on SQLite no second copy of SQLite may drop this process's locks
    or remove the WAL under an open connection."""
    monkeypatch.setattr(
        frames, "ARROW_FROM_ROWS", arrow_from_rows
    )  # SQLite: through the child process or not
    factories.survey(sessions)
    query = MetricsQuery(metrics=("volume",), **WINDOW)
    with engine.connect() as held:  # a connection that stays open across the reads and writes
        held.exec_driver_sql("SELECT count(*) FROM responses").scalar_one()
        for n in range(1, 4):
            store(sessions, [{"at": at("2026-10-05 10:00"), "answers": {"nps": 9}}])
            with sessions() as session:
                [row] = compute_metrics(session, query).table.to_dicts()
            assert row["value"] == n
            assert held.exec_driver_sql("SELECT count(*) FROM responses").scalar_one() == n
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar_one() == "ok"


def test_many_queries_over_one_read_give_what_each_gives_alone(sessions, company) -> None:
    """compute_many (a dashboard's panels: one read per table) equals compute_metrics run per query."""
    queries = [
        MetricsQuery(metrics=("nps", "csat", "volume", "sentiment"), period=Period.WEEK, **WINDOW),
        MetricsQuery(metrics=("nps",), by=("channel",), **WINDOW),
        MetricsQuery(
            metrics=("nps", "volume"), by=("department",), filters={"channel": ("phone",)}, **WINDOW
        ),
        MetricsQuery(metrics=("nps",), filters={"department": ("delivery",)}, **WINDOW),
        MetricsQuery(metrics=("response_rate", "nps"), by=("channel",)),  # the last 90 days
        MetricsQuery(
            metrics=("nps",),
            period=Period.DAY,
            since=at("2026-10-10 00:00"),
            until=at("2026-10-20 00:00"),
        ),
    ]
    with sessions() as session:
        together = compute_many(session, queries)
        for query, result in zip(queries, together, strict=True):
            alone = compute_metrics(session, query).table
            assert result.table.height > 0
            assert result.table.equals(alone), query
        with pytest.raises(InvalidInput) as error:
            compute_many(
                session, [queries[0], MetricsQuery(metrics=("nps",), filters={"department": ("nowhere",)})]
            )
        assert error.value.errors[0].field == "department"
