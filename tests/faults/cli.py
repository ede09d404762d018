"""The real `feedback` command in a child process, to be killed with SIGKILL mid-way and run again."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Mapping

COMMAND = [sys.executable, "-c", "from feedback.cli import main; main()"]


def environment(database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEEDBACK_TEST_PAUSE")}
    return {**env, "FEEDBACK_DATABASE_URL": database_url, **extra}


def start(args: list[str], env: Mapping[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*COMMAND, *args], env=dict(env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def run(args: list[str], env: Mapping[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run the command to its end (after a kill: once the killed process's database session is gone)."""
    _killed_sessions_gone(env.get("FEEDBACK_DATABASE_URL", ""))
    return subprocess.run([*COMMAND, *args], env=dict(env), capture_output=True, text=True, timeout=timeout)


def _killed_sessions_gone(database_url: str, wait_s: float = 30) -> None:
    """PostgreSQL: wait until no other session has a transaction open.

    A killed client's session ends as soon as the server notices; until then its uncommitted rows block a
    rerun's inserts of the same keys. One still there after ``wait_s`` is ended with pg_terminate_backend,
    as an operator would, and reported."""
    if not database_url.startswith("postgresql"):
        return
    from sqlalchemy import text

    from feedback.db import make_engine

    engine = make_engine(database_url)
    query = text(
        "SELECT pid, state, wait_event, left(query, 80) FROM pg_stat_activity WHERE datname = "
        "current_database() AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"
    )
    deadline = time.monotonic() + wait_s
    try:
        with engine.connect() as connection:
            while rows := connection.execute(query).all():
                connection.commit()  # pg_stat_activity is a snapshot per transaction
                if time.monotonic() > deadline:
                    for row in rows:
                        connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": row[0]})
                    connection.commit()
                    warnings.warn(
                        f"sessions still open {wait_s:.0f} s after the kill, ended: {rows}", stacklevel=3
                    )
                    return
                time.sleep(0.1)
    finally:
        engine.dispose()


def kill_when(process: subprocess.Popen[str], ready: Callable[[], bool], timeout: float = 120) -> None:
    """SIGKILL ``process`` as soon as ``ready()``; fails if it ended first (it was not killed mid-way)."""
    deadline = time.monotonic() + timeout
    while not ready():
        if process.poll() is not None:
            out, err = process.communicate()
            ended = f"ended (exit {process.returncode}) before it could be killed"
            raise AssertionError(f"{ended}:\n{out}\n{err}")
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"not ready to be killed within {timeout:.0f} s")
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(30)
    assert process.returncode == -signal.SIGKILL


def kill_at_pause(process: subprocess.Popen[str], point: str, timeout: float = 120) -> None:
    """SIGKILL ``process`` once it printed ``paused at POINT`` (FEEDBACK_TEST_PAUSE_AT, feedback.faults)."""
    assert process.stderr is not None
    descriptor = process.stderr.fileno()
    os.set_blocking(descriptor, False)
    seen = bytearray()

    def paused() -> bool:
        with contextlib.suppress(BlockingIOError):
            seen.extend(os.read(descriptor, 65536))
        return f"paused at {point}".encode() in seen

    kill_when(process, paused, timeout)
