"""One benchmark stage: a child process bounded in time that leaves nothing running behind it.

The child runs in a session of its own with its output in a log file. At its timeout (or on Ctrl-C) it gets
SIGINT first, so that its `finally` blocks stop the servers and PostgreSQL clusters it started, then SIGKILL.
This process makes itself a child subreaper (Linux), so whatever a stage left running, even what detached
itself (a PostgreSQL postmaster, a server in its own session), becomes our child and is stopped and reaped
when the stage ends.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PR_SET_CHILD_SUBREAPER = 36
OK, FAILED, TIMED_OUT, NOT_RUN = "ok", "failed", "timed out", "not run"


@dataclass
class Outcome:
    status: str  # OK, FAILED, TIMED_OUT or NOT_RUN
    seconds: float = 0.0
    detail: str = ""  # why it failed or did not run
    data: Any = None  # the stage's JSON


def become_subreaper() -> bool:
    """Adopt the orphans of our descendants (Linux only); False where that is not possible."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _children() -> list[int]:
    """Pids of this process's live children (adopted orphans included), from /proc."""
    me, found = os.getpid(), []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == me and fields[0] != "Z":
                found.append(int(entry.name))
    return found


def _reap() -> None:
    """Collect the exit status of every finished child, so none stays a zombie."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _describe(pid: int) -> str:
    try:
        words = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return str(pid)
    return f"{pid} " + " ".join(w.decode(errors="replace") for w in words if w)[:80]


def _wait_children(seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while _children() and time.monotonic() < deadline:
        _reap()
        time.sleep(0.2)
    _reap()


def stop_leftovers(settle: float = 3.0, grace: float = 10.0) -> list[str]:
    """What a finished stage left running (given ``settle`` s to end by itself, as a multiprocessing
    forkserver does when its parent is gone): SIGTERM, then SIGKILL after ``grace`` s; what they were."""
    _wait_children(settle)
    left = _children()
    described = [_describe(pid) for pid in left]
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    _wait_children(grace)
    for pid in _children():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    time.sleep(0.2)
    _reap()
    return described


def _interrupt(process: subprocess.Popen[bytes], grace: float) -> None:
    """SIGINT to the stage's process group, SIGKILL to the group if it is still there after ``grace`` s."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGINT)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(grace)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # the rest of its group, or the stage itself
    process.wait()


def _tail(log: Path, lines: int = 15) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").rstrip().splitlines()[-lines:])
    except OSError:
        return ""


def run_stage(
    name: str,
    command: Sequence[str],
    timeout: float,
    log: Path,
    json_path: Path,
    cwd: Path,
    grace: float = 20.0,
    heartbeat: float = 60.0,
) -> Outcome:
    """Run ``command`` for at most ``timeout`` s; its JSON (``json_path``) when it succeeded."""
    json_path.unlink(missing_ok=True)
    started = time.monotonic()
    with log.open("wb") as out:
        process = subprocess.Popen(
            list(command), cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        code: int | None = None
        try:
            while code is None:
                left = timeout - (time.monotonic() - started)
                if left <= 0:
                    break
                try:
                    code = process.wait(min(left, heartbeat))
                except subprocess.TimeoutExpired:
                    print(f"    ... {name}: {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
            if code is None:
                _interrupt(process, grace)
        except BaseException:  # Ctrl-C: stop the stage and what it started, then give up
            _interrupt(process, grace)
            stop_leftovers()
            raise
    seconds = time.monotonic() - started
    left_behind = stop_leftovers()
    if code is None:
        return Outcome(TIMED_OUT, seconds, f"stopped after {timeout:.0f} s", None)
    if code != 0:
        return Outcome(FAILED, seconds, f"exit status {code}: {_tail(log, 5)}")
    try:
        data = json.loads(json_path.read_text())
    except (OSError, ValueError) as error:
        return Outcome(FAILED, seconds, f"no JSON result ({error})")
    detail = f"stopped what it left running: {'; '.join(left_behind)}" if left_behind else ""
    return Outcome(OK, seconds, detail, data)
