"""Every database test runs twice: on SQLite (a file, WAL) and on PostgreSQL (a private cluster).

Each test gets a fresh database copied from one migrated by the real Alembic migrations.
FEEDBACK_TEST_BACKENDS=sqlite limits a run to SQLite (the default runs both, and a missing
PostgreSQL is an error, not a skip). FEEDBACK_TEST_POSTGRES_URL uses a server you already run.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from feedback.db import make_engine, make_sessionmaker, upgrade_database

# Nothing a test makes lands in the working tree: keys and model files go to a temporary directory.
os.environ.setdefault("FEEDBACK_SECRET_KEY", "test-only-secret-key")
os.environ.setdefault("FEEDBACK_DATA_DIR", tempfile.mkdtemp(prefix="feedback-test-data-"))

BACKENDS = [b for b in os.environ.get("FEEDBACK_TEST_BACKENDS", "sqlite,postgresql").split(",") if b]
TEMPLATE_DB = "feedback_template"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """Base URL (no database name) of a PostgreSQL server for this test session."""
    url = os.environ.get("FEEDBACK_TEST_POSTGRES_URL")
    if url:
        yield url.rstrip("/")
        return
    from tests.pg_cluster import PgCluster

    cluster = PgCluster()
    base = cluster.start()
    try:
        yield base
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade_database(f"sqlite:///{path}")
    return path


def _admin_engine(base: str) -> Engine:
    return create_engine(
        f"postgresql+psycopg://{base.split('://', 1)[1]}/postgres", isolation_level="AUTOCOMMIT"
    )


@pytest.fixture(scope="session")
def postgres_template(postgres_server: str) -> str:
    admin = _admin_engine(postgres_server)
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {TEMPLATE_DB}"))
        conn.execute(text(f"CREATE DATABASE {TEMPLATE_DB}"))
    admin.dispose()
    upgrade_database(f"{postgres_server}/{TEMPLATE_DB}")
    return postgres_server


@contextmanager
def _postgres_database(server: str) -> Iterator[str]:
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = _admin_engine(server)
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE_DB}"))
    yield f"{server}/{name}"
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated, empty database on each backend."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "feedback.db"
        shutil.copy(template, path)
        yield f"sqlite:///{path}"
        return
    with _postgres_database(request.getfixturevalue("postgres_template")) as url:
        yield url


@pytest.fixture
def postgres_url(postgres_template: str) -> Iterator[str]:
    """A fresh, migrated, empty PostgreSQL database, for what only PostgreSQL does."""
    with _postgres_database(postgres_template) as url:
        yield url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_sessionmaker(engine)


@pytest.fixture
def client(database_url: str) -> Iterator[Any]:
    """A Litestar test client (in-process HTTP) on the test's database, writer thread running."""
    from litestar.testing import TestClient

    from feedback.config import Settings
    from feedback.web.app import create_app

    # Tests fill public forms faster than people can (tests/web/test_limits.py checks the real minimum).
    settings = Settings(
        database_url=database_url,
        base_url="http://testserver.local",
        secret_key="test-secret",
        form_min_seconds=0,
    )
    with TestClient(create_app(settings), base_url="http://testserver.local") as test_client:
        yield test_client
