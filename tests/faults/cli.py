"""The real `feedback` command in a child process, to be killed with SIGKILL mid-way and run again."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
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
    return subprocess.run([*COMMAND, *args], env=dict(env), capture_output=True, text=True, timeout=timeout)


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
