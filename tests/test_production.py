"""The production shape, with real processes: `feedback db upgrade` once, two web servers (one of them
`serve --workers 2`) and two `feedback scheduler` processes on one PostgreSQL; real SMTP on 127.0.0.1.

Submissions reach both servers at once, retries of one Idempotency-Key land on different processes, and each
response is stored exactly once; a digest due now reaches its department head exactly once. Workers never
migrate: `feedback serve` refuses a database whose schema is behind.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from feedback.db import alembic_config, head_revision, make_engine, make_sessionmaker
from feedback.models import Delivery, DigestRun, Response
from tests import factories
from tests.conftest import BACKENDS
from tests.digests import data
from tests.digests.servers import SmtpServer, free_port, smtp_server

ROOT = Path(__file__).resolve().parents[1]
FEEDBACK = [sys.executable, "-c", "from feedback.cli import main; main()"]
SURVEY = "/api/surveys/support-followup/responses"

pytestmark = pytest.mark.skipif(
    "postgresql" not in BACKENDS, reason="the production shape runs on PostgreSQL (FEEDBACK_TEST_BACKENDS)"
)


@pytest.fixture
def empty_database(postgres_server: str) -> Iterator[str]:
    """A new PostgreSQL database without any schema, as a deploy finds it."""
    name = f"prod_{uuid.uuid4().hex[:12]}"
    admin = create_engine(
        f"postgresql+psycopg://{postgres_server.split('://', 1)[1]}/postgres", isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    yield f"{postgres_server}/{name}"
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


def _env(database_url: str, smtp_port: int = 1) -> dict[str, str]:
    return {
        **os.environ,
        "FEEDBACK_DATABASE_URL": database_url,
        "FEEDBACK_BASE_URL": "http://feedback.test",
        "FEEDBACK_SMTP_HOST": "127.0.0.1",
        "FEEDBACK_SMTP_PORT": str(smtp_port),
        "FEEDBACK_SMTP_SECURITY": "none",
        "FEEDBACK_DIGEST_CHARTS": "0",
        "FEEDBACK_LOG_LEVEL": "INFO",
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }


def _feedback(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*FEEDBACK, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)


def _spawn(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*FEEDBACK, *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: uvicorn's workers go with it
    )


def _tables(database_url: str) -> list[str]:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            return list(
                connection.execute(
                    text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
                ).scalars()
            )
    finally:
        engine.dispose()


def _revision_before_head() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_revision(head_revision())
    assert head is not None and isinstance(head.down_revision, str)
    return head.down_revision


def test_workers_refuse_a_database_that_is_not_migrated(empty_database: str) -> None:
    env = _env(empty_database)
    refused = _feedback("serve", "--port", str(free_port()), env=env)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "not serving: the database has no schema yet" in refused.stderr
    assert "run `feedback db upgrade` once" in refused.stderr
    assert _tables(empty_database) == []  # the worker did not migrate on its own

    previous = _revision_before_head()
    assert _feedback("db", "upgrade", "--revision", previous, env=env).returncode == 0
    behind = _feedback("serve", "--workers", "2", "--port", str(free_port()), env=env)
    assert behind.returncode == 1, behind.stdout + behind.stderr
    assert f"the database schema is at {previous}, behind this version's {head_revision()}" in behind.stderr
    assert "run `feedback db upgrade` once" in behind.stderr

    engine = make_engine(empty_database)  # a newer version migrated it further
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    engine.dispose()
    ahead = _feedback("serve", "--port", str(free_port()), env=env)
    assert ahead.returncode == 1, ahead.stdout + ahead.stderr
    assert "at 9999_future, which this version of feedback does not know" in ahead.stderr
    assert "deploy that version" in ahead.stderr


def _wait_healthy(base: str, process: subprocess.Popen[str], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{base} exited during start-up:\n{process.communicate()[0]}")
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    log = _stop([process])[0]
    raise AssertionError(f"{base}/health did not answer within {timeout} s:\n{log}")


def _stop(processes: list[subprocess.Popen[str]]) -> list[str]:
    """SIGTERM to each; whatever is still running after 30 s is killed. Returns each one's output."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    logs = []
    for process in processes:
        try:
            logs.append(process.communicate(timeout=30)[0])
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            logs.append(process.communicate()[0] + "\n[killed: did not stop within 30 s]")
    return logs


def _submit(
    client: httpx.Client, base: str, body: dict[str, object], key: str | None
) -> tuple[int, str, bool]:
    headers = {"Idempotency-Key": key} if key else {}
    answer = client.post(base + SURVEY, json=body, headers=headers, timeout=30)
    payload = answer.json()
    replayed = answer.headers.get("Idempotent-Replayed") == "true"
    return answer.status_code, str(payload.get("id", payload.get("detail"))), replayed


def _count(sessions: sessionmaker[Session], query: object) -> int:
    with sessions() as session:
        return int(session.scalar(query) or 0)  # type: ignore[call-overload]


def test_web_workers_and_schedulers_on_one_postgresql(empty_database: str) -> None:
    url = empty_database
    with smtp_server() as smtp:
        env = _env(url, smtp.port)
        upgraded = _feedback("db", "upgrade", env=env)  # once per deploy, before any worker
        assert upgraded.returncode == 0, upgraded.stderr
        engine = make_engine(url)
        sessions = make_sessionmaker(engine)
        try:
            _run_production_shape(sessions, env, smtp)
        finally:
            engine.dispose()


def _run_production_shape(sessions: sessionmaker[Session], env: dict[str, str], smtp: SmtpServer) -> None:
    factories.survey(sessions, anonymous_link=True)
    tokens = factories.invite(sessions, [{"email": f"c{i}@example.com"} for i in range(10)])
    now = datetime.now(UTC)
    fire = now - timedelta(minutes=10)  # an hourly digest whose last fire was 10 minutes ago
    data.department(
        sessions, "support", schedule=f"{fire.minute} * * * *", heads=[("Hana", "head@example.com")],
        since=now - timedelta(hours=2),
    )  # fmt: skip

    ports = [free_port(), free_port()]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    web = [
        _spawn("serve", "--workers", "2", "--port", str(ports[0]), env=env),
        _spawn("serve", "--port", str(ports[1]), env=env),
    ]
    schedulers: list[subprocess.Popen[str]] = []
    try:
        for base, process in zip(bases, web, strict=True):
            _wait_healthy(base, process)

        # 40 keyed submissions, each sent three times: to both servers at once, and once more to either.
        rng = random.Random(7)
        jobs: list[tuple[str, dict[str, object], str | None, str]] = []
        for i in range(40):
            body: dict[str, object] = {"answers": {"nps": i % 11, "comment": f"answer number {i}"}}
            for base in (bases[0], bases[1], rng.choice(bases)):
                jobs.append((base, body, f"key-{i}", f"key-{i}"))
        # Each invitation answered from both servers with different keys: one wins, the other gets 409.
        for token in tokens:
            body = {"token": token, "answers": {"nps": 3, "comment": "slow refund"}}
            for n, base in enumerate(bases):
                jobs.append((base, body, f"{token}-{n}", token))
        rng.shuffle(jobs)
        with httpx.Client() as client, ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(lambda job: (job[3], _submit(client, job[0], job[1], job[2])), jobs))

        by_group: dict[str, list[tuple[int, str, bool]]] = {}
        for group, answer in answers:
            by_group.setdefault(group, []).append(answer)
        for i in range(40):
            got = by_group[f"key-{i}"]
            assert {status for status, _, _ in got} == {201}, got
            assert len({rid for _, rid, _ in got}) == 1, got  # the same response, whichever process answered
            assert sorted(replayed for _, _, replayed in got) == [False, True, True], got
        for token in tokens:
            assert sorted(status for status, _, _ in by_group[token]) == [201, 409], by_group[token]
        assert _count(sessions, select(func.count()).select_from(Response)) == 50
        assert _count(sessions, select(func.count(func.distinct(Response.idempotency_key)))) == 50
        assert _count(sessions, select(func.count(func.distinct(Response.invitation_id)))) == 10

        # Two schedulers start together; the digest due since 10 minutes ago goes out once.
        schedulers = [_spawn("scheduler", env=env), _spawn("scheduler", env=env)]
        deadline = time.monotonic() + 30
        while not smtp.messages() and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(3)  # time enough for a duplicate to arrive, if there were one
    finally:
        logs = _stop(schedulers + web)
    failed = [
        f"{process.args[3:]} exited {process.returncode}:\n{log}"
        for process, log in zip(schedulers + web, logs, strict=True)
        # uvicorn re-raises SIGTERM after a complete shutdown: -15 with "shutdown complete" is clean.
        if not (
            process.returncode == 0 or (process.returncode == -signal.SIGTERM and "shutdown complete" in log)
        )
    ]
    assert not failed, "\n".join(failed)
    assert [m["To"] for m in smtp.messages()] == ["head@example.com"], logs
    assert _count(sessions, select(func.count()).select_from(DigestRun)) == 1
    with sessions() as session:
        assert [d.state for d in session.scalars(select(Delivery))] == ["sent"]
