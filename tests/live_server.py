"""The real app under uvicorn on 127.0.0.1 and a free port, for tests that need a real HTTP peer (a browser).

    with live_app(database_url) as base:   # "http://127.0.0.1:PORT", /health already answering
        ...

The server runs in a background thread with its own event loop. Leaving the block asks uvicorn to exit,
which runs the app's lifespan shutdown (the response writer stores what is queued, then stops).
Fixture: ``live_server`` (needs ``database_url`` from tests/conftest.py); import it into a test module.
"""

from __future__ import annotations

import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import uvicorn

from feedback.config import Settings
from feedback.web.app import create_app

HOST = "127.0.0.1"


def bind_free_port() -> socket.socket:
    """A listening-ready socket on 127.0.0.1 and a port the kernel picked (no race for the port)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, 0))
    return sock


def base_url_of(sock: socket.socket) -> str:
    return f"http://{HOST}:{sock.getsockname()[1]}"


def _wait_healthy(base: str, thread: threading.Thread, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if not thread.is_alive():
            raise RuntimeError(f"the test server at {base} stopped during startup (see its log above)")
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError as exc:
            last = exc
        time.sleep(0.05)
    raise TimeoutError(f"{base}/health did not answer within {timeout:.0f} s (last error: {last!r})")


@contextmanager
def serve(app: Any, sock: socket.socket, timeout: float = 60.0) -> Iterator[str]:
    """Serve the ASGI ``app`` on ``sock`` until the block ends; yields the base URL once /health answers."""
    base = base_url_of(sock)
    # As `feedback serve` runs it: the app alone decides whom to believe about X-Forwarded-For.
    config = uvicorn.Config(app, lifespan="on", log_level="warning", access_log=False, proxy_headers=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="live-server", daemon=True)
    thread.start()
    try:
        _wait_healthy(base, thread, timeout)
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout)
        sock.close()
    if thread.is_alive():
        raise RuntimeError(f"the test server at {base} did not shut down within {timeout:.0f} s")


@contextmanager
def live_app(database_url: str) -> Iterator[str]:
    """``feedback.web.app`` on ``database_url``, with its links (base_url) pointing at itself."""
    sock = bind_free_port()
    try:
        app = create_app(Settings(database_url=database_url, base_url=base_url_of(sock)))
    except BaseException:
        sock.close()
        raise
    with serve(app, sock) as base:
        yield base


@pytest.fixture
def live_server(database_url: str) -> Iterator[str]:
    """Base URL of the real app serving the test's fresh database."""
    with live_app(database_url) as base:
        yield base
