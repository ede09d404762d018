"""Slow clients are cut off (issue 12, item 7): `feedback serve`, a real server on 127.0.0.1, closes a
connection whose headers or body arrive one byte every second after FEEDBACK_HEADER_TIMEOUT_S or
FEEDBACK_BODY_TIMEOUT_S, while a normal client is served as before. With real sockets."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from feedback.db import upgrade_database
from tests.digests.servers import free_port

HEADER_TIMEOUT = 2.0
BODY_TIMEOUT = 3.0
SLACK = 2.0  # the server's timer fires on time; a busy shared machine may take a moment to act on it


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    database = tmp_path_factory.mktemp("slow") / "feedback.db"
    upgrade_database(f"sqlite:///{database}")
    port = free_port()
    env = {
        **os.environ,
        "FEEDBACK_DATABASE_URL": f"sqlite:///{database}",
        "FEEDBACK_HEADER_TIMEOUT_S": str(HEADER_TIMEOUT),
        "FEEDBACK_BODY_TIMEOUT_S": str(BODY_TIMEOUT),
    }
    command = [sys.executable, "-c", "from feedback.cli import main; main()", "serve", "--port", str(port)]
    process = subprocess.Popen(command, env=env, cwd=Path(database).parent)
    try:
        deadline = time.monotonic() + 120  # a shared, busy machine can take a while to start it
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as answer:
                    assert answer.status == 200
                    break
            except OSError:
                assert process.poll() is None, "feedback serve ended during startup"
                assert time.monotonic() < deadline, "feedback serve did not answer within 120 s"
                time.sleep(0.2)
        yield "127.0.0.1", port
    finally:
        process.terminate()
        process.wait(30)


def trickle(address: tuple[str, int], first: bytes, then: bytes, every: float = 1.0) -> tuple[float, bytes]:
    """Send ``first`` at once, then ``then`` one byte every ``every`` seconds until the server closes the
    connection; the seconds that took (from the last byte of ``first``) and what the server answered."""
    with socket.create_connection(address, timeout=30) as sock:
        sock.sendall(first)
        started = time.monotonic()
        sock.settimeout(every)
        answer = b""
        for byte in then:
            try:
                sock.sendall(bytes([byte]))
            except OSError:  # reset: the server has closed it
                break
            try:
                chunk = sock.recv(4096)
            except TimeoutError:
                continue  # nothing from the server yet: keep trickling
            except OSError:
                break
            answer += chunk
            if not chunk:
                break
            while chunk:
                try:
                    chunk = sock.recv(4096)
                except OSError:
                    break
                answer += chunk
            break
        return time.monotonic() - started, answer


def test_headers_sent_a_byte_a_second_are_cut_off(server) -> None:  # type: ignore[no-untyped-def]
    headers = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 120 + b"\r\n\r\n"
    took, answer = trickle(server, b"", headers)
    assert took < HEADER_TIMEOUT + SLACK, f"still open after {took:.1f} s"
    assert answer.startswith(b"HTTP/1.1 408"), answer


def test_a_body_sent_a_byte_a_second_is_cut_off(server) -> None:  # type: ignore[no-untyped-def]
    body = b'{"answers": {"nps": 9, "comment": "' + b"a" * 100 + b'"}}'
    headers = (
        b"POST /api/surveys/nope/responses HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\n"
        b"content-length: " + str(len(body)).encode() + b"\r\n\r\n"
    )
    took, answer = trickle(server, headers, body)
    assert took < BODY_TIMEOUT + SLACK, f"still open after {took:.1f} s"
    assert answer.startswith(b"HTTP/1.1 408"), answer


def test_a_connection_that_sends_nothing_is_closed(server) -> None:  # type: ignore[no-untyped-def]
    with socket.create_connection(server, timeout=30) as sock:
        started = time.monotonic()
        answer = sock.recv(4096)
        took = time.monotonic() - started
    assert took < HEADER_TIMEOUT + SLACK and answer.startswith(b"HTTP/1.1 408"), (took, answer)


def test_a_normal_client_is_served_on_one_connection(server) -> None:  # type: ignore[no-untyped-def]
    with socket.create_connection(server, timeout=30) as sock:
        for _ in range(3):  # keep-alive: each request of the connection gets its own header timer
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            answer = read_response(sock)
            assert answer.startswith(b"HTTP/1.1 200") and b'"writer":"ok"' in answer, answer
            assert answer.endswith(b"}"), answer  # the whole body came
            time.sleep(HEADER_TIMEOUT / 2)


def read_response(sock: socket.socket) -> bytes:
    """One whole HTTP response (headers, then content-length bytes), however the packets fall."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(4096)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += sock.recv(4096)
    return head + b"\r\n\r\n" + body
