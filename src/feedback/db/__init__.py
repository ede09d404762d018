"""Engine and sessions. SQLite (WAL) is the embedded default; PostgreSQL via FEEDBACK_DATABASE_URL."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from feedback.config import get_settings


def normalize_url(url: str) -> str:
    """Pick our drivers: ``postgresql://`` means psycopg 3."""
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


SYNCHRONOUS_LEVELS = ("FULL", "EXTRA", "NORMAL")


def sqlite_synchronous(value: str | None = None) -> str:
    """FULL (default): a commit is on disk before we answer, so an answered response survives a crash
    of the process, of the OS and a power cut; group commit keeps this cheap. NORMAL (set
    FEEDBACK_SQLITE_SYNCHRONOUS=NORMAL, for measurements) skips the fsync per commit in WAL mode: a
    commit survives a crash of the process but not of the machine (power loss, kernel panic).
    ``value`` None: the setting (Settings.sqlite_synchronous)."""
    if value is None:
        value = get_settings().sqlite_synchronous
    value = value.upper()
    if value not in SYNCHRONOUS_LEVELS:
        raise ValueError(f"FEEDBACK_SQLITE_SYNCHRONOUS must be FULL, EXTRA or NORMAL, not {value!r}")
    return value


def _sqlite_pragmas(synchronous: str) -> Any:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        # 64 MiB of page cache (default 2 MiB): bulk imports and batched writes update indexes at random
        # places; pages stay in memory instead of being read again. Allocated only as pages are used.
        cursor.execute("PRAGMA cache_size=-65536")
        cursor.close()

    return on_connect


KEYED_SETTINGS = {"enable_seqscan": "off", "jit": "off"}  # PostgreSQL, for reads by indexed keys only


def make_engine(
    url: str,
    *,
    sqlite_synchronous_level: str | None = None,
    keyed: bool = False,
    **kwargs: Any,
) -> Engine:
    """An engine with the pragmas and pool settings this project relies on (SQLite's synchronous level:
    ``sqlite_synchronous_level``, else the setting). ``keyed``: every read of these connections finds
    rows by an indexed key (the response writer's). On PostgreSQL the planner is then told not to scan a
    whole table where an index finds the rows, nor to compile plans: a table too young to have
    statistics, or grown since its last ANALYZE, looks small to it, and a plan prepared then (the
    foreign-key checks' too) would keep scanning it as it grows."""
    url = normalize_url(url)
    if url.startswith("sqlite"):
        synchronous = sqlite_synchronous(sqlite_synchronous_level)
        engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas(synchronous))
        return engine
    kwargs.setdefault("connect_args", {"connect_timeout": 10})  # an unreachable server: fail, never hang
    if keyed:
        options = " ".join(f"-c {name}={value}" for name, value in KEYED_SETTINGS.items())
        kwargs["connect_args"] = {**kwargs["connect_args"], "options": options}
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    engine = create_engine(url, **kwargs)
    _ping_when_idle(engine)
    return engine


IDLE_BEFORE_PING = 1.0  # seconds a pooled connection may rest before it is tested on checkout


def _ping_when_idle(engine: Engine) -> None:
    """Test a pooled connection before use when it has rested: a server restarted or a network cut
    meanwhile is then met by a fresh connection, not by the caller's first statement. A connection in
    constant use (the response writer's, one batch after the other) skips the test: ``pool_pre_ping``
    would spend a round trip on every checkout, a sixth of a small batch's work on PostgreSQL."""

    def checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["rested_since"] = time.monotonic()

    def checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        rested_since = record.info.get("rested_since")
        if rested_since is None or time.monotonic() - rested_since < IDLE_BEFORE_PING:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # the pool discards this connection and checks out another
            raise DisconnectionError(f"a pooled connection failed its test: {exc}") from exc

    event.listen(engine, "checkin", checkin)
    event.listen(engine, "checkout", checkout)


def unavailable(exc: DBAPIError) -> bool:
    """Whether a driver error means the database cannot be used right now (down, unreachable, locked by
    another process, read-only, out of disk), so a retry later can succeed: an answer 503, never 500."""
    return isinstance(exc, OperationalError) or exc.connection_invalidated or isinstance(exc.orig, OSError)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    with factory.begin() as session:
        yield session


def read_by_keys(session: Session) -> None:
    """The rest of this transaction reads rows by indexed keys only: on PostgreSQL, as on a ``keyed``
    engine's connections (see make_engine), for callers sharing an ordinary engine (the bulk imports)."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":  # one round trip; set_config(..., true) is SET LOCAL
        calls = ", ".join(f"set_config('{name}', '{value}', true)" for name, value in KEYED_SETTINGS.items())
        connection.exec_driver_sql(f"SELECT {calls}")


def alembic_config(url: str) -> Any:
    """Alembic's configuration for ``url``; the scripts ship inside the package (feedback.migrations)."""
    from importlib.resources import files

    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(files("feedback.migrations")))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def compared_on(dialect: str) -> Any:
    """Alembic's ``include_object``: leave out of a comparison what the models create only on another
    database (``Index(...).ddl_if(dialect=...)``)."""

    def include(item: Any, _name: str | None, _type: str, reflected: bool, _compare_to: Any) -> bool:
        only_on = getattr(item, "_ddl_if", None)
        return reflected or only_on is None or only_on.dialect in (None, dialect)

    return include


def upgrade_database(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` to ``revision`` (safe to run again: it does nothing when current)."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def schema_problem(url: str) -> str | None:
    """Why the database at ``url`` cannot be served by this version, and what to do (None: it is at head)."""
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    current, head = current_revision(url), head_revision()
    if current == head:
        return None
    upgrade = "run `feedback db upgrade` once, then start the workers"
    if current is None:
        return f"the database has no schema yet; {upgrade}"
    try:
        ScriptDirectory.from_config(alembic_config("sqlite://")).get_revision(current)
    except CommandError:
        return (
            f"the database schema is at {current}, which this version of feedback does not know "
            f"(it needs {head}); a newer version migrated it: deploy that version"
        )
    return f"the database schema is at {current}, behind this version's {head}; {upgrade}"


def current_revision(url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()
