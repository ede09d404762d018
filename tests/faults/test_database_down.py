"""The database goes away and comes back: requests get 503 with Retry-After (never 500), a submitted answer
is either stored or refused with 503 (a retry with the same Idempotency-Key then stores it once), the writer
child is restarted if it dies, and the service recovers by itself. Against a real server on 127.0.0.1."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, func, select, text

from feedback.db import make_engine, make_sessionmaker, upgrade_database
from feedback.models import Response
from tests import factories
from tests.live_server import live_app
from tests.pg_cluster import PgCluster

SUBMIT = "/api/surveys/support-followup/responses"
BACKENDS = [b for b in os.environ.get("FEEDBACK_TEST_BACKENDS", "sqlite,postgresql").split(",") if b]


def count_responses(url: str) -> int:
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as session:
            return int(session.scalar(select(func.count()).select_from(Response)) or 0)
    finally:
        engine.dispose()


def seed(url: str) -> str:
    engine = make_engine(url)
    try:
        sessions = make_sessionmaker(engine)
        factories.survey(sessions)
        return factories.token(sessions)
    finally:
        engine.dispose()


def answer(nps: int) -> dict[str, Any]:
    return {"answers": {"nps": nps, "comment": "the courier was late again"}}


def assert_unavailable(reply: httpx.Response) -> None:
    assert reply.status_code == 503, reply.text
    assert int(reply.headers["Retry-After"]) > 0
    assert "retry" in reply.json()["detail"]


def until(check: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        outcome = check()
        if outcome:
            return outcome
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout:.0f} s: {check}")
        time.sleep(0.2)


@pytest.fixture
def private_postgres() -> Iterator[tuple[PgCluster, str]]:
    """A PostgreSQL cluster of this test's own, which the test stops and starts again."""
    if "postgresql" not in BACKENDS:
        pytest.skip("FEEDBACK_TEST_BACKENDS excludes postgresql")
    cluster = PgCluster()
    base = cluster.start()
    try:
        admin = create_engine(
            f"postgresql+psycopg://{base.split('://', 1)[1]}/postgres", isolation_level="AUTOCOMMIT"
        )
        with admin.connect() as connection:
            connection.execute(text("CREATE DATABASE outage"))
        admin.dispose()
        url = f"{base}/outage"
        upgrade_database(url)
        yield cluster, url
    finally:
        cluster.stop()


@pytest.mark.parametrize("writer", ["process", "thread"])
def test_postgres_stopped_and_started_again(
    writer: str, private_postgres: tuple[PgCluster, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FEEDBACK_WRITER", writer)
    cluster, url = private_postgres
    admin = factories.bearer(seed(url))
    with live_app(url) as base, httpx.Client(base_url=base, timeout=60) as http:
        assert http.post(SUBMIT, json=answer(9)).status_code == 201
        ready = http.get("/ready")
        assert ready.status_code == 200 and ready.json()["database"] == "ok"

        cluster.halt()
        assert_unavailable(http.post(SUBMIT, json=answer(3), headers={"Idempotency-Key": "outage-1"}))
        assert_unavailable(http.get("/api/surveys", headers=admin))
        not_ready = http.get("/ready")
        assert not_ready.status_code == 503 and int(not_ready.headers["Retry-After"]) > 0
        assert not_ready.json()["database"] == "unavailable"
        health = http.get("/health")  # liveness: the process answers, and says what it sees
        assert health.status_code == 200 and health.json()["database"] == "unavailable"

        cluster.resume()
        until(lambda: http.get("/ready").status_code == 200)
        retry = http.post(SUBMIT, json=answer(3), headers={"Idempotency-Key": "outage-1"})
        assert retry.status_code == 201, retry.text
        again = http.post(SUBMIT, json=answer(3), headers={"Idempotency-Key": "outage-1"})
        assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
        assert http.get("/api/surveys", headers=admin).status_code == 200
    assert count_responses(url) == 2


def writer_child_pid() -> int:
    """The pid of the response-writer child (the live server runs in this process)."""
    children = [p for p in multiprocessing.active_children() if p.name == "response-writer"]
    assert len(children) == 1, children
    assert children[0].pid is not None
    return children[0].pid


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_writer_child_killed_is_replaced(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'feedback.db'}"
        upgrade_database(url)
    else:
        url = request.getfixturevalue("private_postgres")[1]
    seed(url)
    with live_app(url) as base, httpx.Client(base_url=base, timeout=60) as http:
        assert http.post(SUBMIT, json=answer(8)).status_code == 201
        first = writer_child_pid()
        os.kill(first, signal.SIGKILL)

        # What arrives while the child is gone or starting is stored or refused with 503: never lost, no 500.
        def submit(i: int) -> httpx.Response:
            return http.post(SUBMIT, json=answer(7), headers={"Idempotency-Key": f"k-{i}"})

        outcomes = [submit(i) for i in range(5)]
        for i, reply in enumerate(outcomes):
            if reply.status_code != 201:
                assert_unavailable(reply)
                until(lambda i=i: submit(i).status_code == 201)
        assert http.post(SUBMIT, json=answer(6)).status_code == 201
        second = writer_child_pid()
        assert second != first
    assert count_responses(url) == 7


def test_sqlite_locked_by_another_process(tmp_path: Path) -> None:
    if "sqlite" not in BACKENDS:
        pytest.skip("FEEDBACK_TEST_BACKENDS excludes sqlite")
    path = tmp_path / "feedback.db"
    url = f"sqlite:///{path}"
    upgrade_database(url)
    seed(url)
    with live_app(url) as base, httpx.Client(base_url=base, timeout=60) as http:
        assert http.post(SUBMIT, json=answer(9)).status_code == 201
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")  # another process writing for longer than the busy timeout
        try:
            assert_unavailable(http.post(SUBMIT, json=answer(2), headers={"Idempotency-Key": "locked-1"}))
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        retry = http.post(SUBMIT, json=answer(2), headers={"Idempotency-Key": "locked-1"})
        assert retry.status_code == 201, retry.text
        assert http.get("/ready").status_code == 200
    assert count_responses(url) == 2


def test_a_database_that_hangs_gets_503_and_the_answer_is_kept(
    private_postgres: tuple[PgCluster, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FEEDBACK_WRITE_TIMEOUT_S", "2")
    url = private_postgres[1]
    seed(url)
    locker = make_engine(url)
    with live_app(url) as base, httpx.Client(base_url=base, timeout=60) as http:
        assert http.post(SUBMIT, json=answer(9)).status_code == 201
        with locker.connect() as connection:
            connection.execute(text("LOCK TABLE responses IN ACCESS EXCLUSIVE MODE"))  # held until rollback
            started = time.monotonic()
            assert_unavailable(http.post(SUBMIT, json=answer(4), headers={"Idempotency-Key": "slow-1"}))
            assert time.monotonic() - started < 10
            connection.rollback()

        # The writer stored it once the lock was gone: the retry replays it, nothing is stored twice.
        def replayed() -> httpx.Response | None:
            reply = http.post(SUBMIT, json=answer(4), headers={"Idempotency-Key": "slow-1"})
            return reply if reply.status_code == 201 else None

        retry = until(replayed)
        assert retry.headers.get("Idempotent-Replayed") == "true"
    locker.dispose()
    assert count_responses(url) == 2


@pytest.mark.skipif("postgresql" not in BACKENDS, reason="FEEDBACK_TEST_BACKENDS excludes postgresql")
def test_a_rested_connection_ended_by_the_server_is_replaced_unseen(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pooled connection is tested before use only when it has rested: one the server ended meanwhile
    (a restart, an idle timeout) is replaced, and the caller never sees it; one in constant use (the
    writer's) is not tested, which would cost a round trip per batch."""
    import feedback.db as db

    engine = make_engine(postgres_url)
    pings: list[object] = []
    ping = engine.dialect.do_ping
    monkeypatch.setattr(engine.dialect, "do_ping", lambda dbapi: pings.append(dbapi) or ping(dbapi))
    try:
        with engine.connect() as connection:
            first = connection.scalar(text("SELECT pg_backend_pid()"))
        for _ in range(5):  # in constant use: never tested
            with engine.connect() as connection:
                assert connection.scalar(text("SELECT pg_backend_pid()")) == first
        assert pings == []

        monkeypatch.setattr(db, "IDLE_BEFORE_PING", 0.2)
        admin = create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://"))
        with admin.connect() as connection:
            assert connection.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
        admin.dispose()
        time.sleep(0.3)
        with engine.connect() as connection:  # tested, found dead, replaced: no error reaches us
            assert connection.scalar(text("SELECT 1")) == 1
            assert connection.scalar(text("SELECT pg_backend_pid()")) != first
        assert len(pings) == 1
    finally:
        engine.dispose()
