"""A private PostgreSQL cluster for tests: initdb + pg_ctl on 127.0.0.1 and a free port.

initdb refuses to run as root, so as root the cluster belongs to the ``postgres`` user.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

PG_BIN = Path(os.environ.get("FEEDBACK_PG_BIN", "/usr/lib/postgresql/15/bin"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(*args: str) -> None:
    command = list(args)
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    subprocess.run(command, check=True, capture_output=True, text=True)


class PgCluster:
    """``durable``: fsync and full-page writes on, as on a production server (benchmarks); tests turn
    both off, since a crash of the test machine loses nothing they need."""

    def __init__(self, *, durable: bool = False) -> None:
        self.durable = durable
        if not (PG_BIN / "initdb").exists():
            raise RuntimeError(
                f"PostgreSQL server binaries not found in {PG_BIN}; install Debian's postgresql "
                "(bash tests/run does), or set FEEDBACK_TEST_BACKENDS=sqlite to test SQLite only"
            )
        self.root = Path(tempfile.mkdtemp(prefix="feedback-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")

    def start(self) -> str:
        _run(
            str(PG_BIN / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        )
        self.resume()
        return f"postgresql://postgres@127.0.0.1:{self.port}"

    def pid(self) -> int:
        """The postmaster's process id (its backends are its children)."""
        return int((self.data / "postmaster.pid").read_text().split("\n", 1)[0])

    def resume(self) -> None:
        """Start the server (again, after :meth:`halt`) on the same port and data."""
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c max_connections=200"
        if not self.durable:  # set on the command line, which no configuration file overrides
            options += " -c fsync=off -c full_page_writes=off"
        _run(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.root / "log"),
            "-w",
            "start",
        )

    def halt(self) -> None:
        """Stop the server and keep its data (a database outage); :meth:`resume` brings it back."""
        _run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():  # not already stopped (halt)
                _run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
