"""Real peers on 127.0.0.1 for the delivery tests: an SMTP server (aiosmtpd) and an HTTP webhook receiver.

The SMTP server can misbehave as real ones do (``Faults``): take seconds per message, drop the connection
after taking a message (before its 250 reply), or hang after DATA until it is killed.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass
class Received:
    sender: str
    recipients: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.data, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class Faults:
    """How the server treats each message it takes (every one is recorded in the inbox first)."""

    delay_s: float = 0.0  # seconds before the 250 reply
    drop_after_data: int = 0  # this many next messages: the connection is dropped instead of a reply
    hang: bool = False  # no reply at all until ``killed`` is set, then the connection is dropped
    killed: threading.Event = field(default_factory=threading.Event)


class _Handler:
    def __init__(self, inbox: list[Received], lock: threading.Lock, faults: Faults) -> None:
        self.inbox, self.lock, self.faults = inbox, lock, faults

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:  # noqa: N802
        with self.lock:
            self.inbox.append(Received(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content)))
            drop = self.faults.drop_after_data > 0
            self.faults.drop_after_data -= int(drop)
        if self.faults.delay_s:
            await asyncio.sleep(self.faults.delay_s)
        while self.faults.hang and not self.faults.killed.is_set():
            await asyncio.sleep(0.02)
        if drop or self.faults.hang:
            server.transport.abort()
        return "250 OK"


@dataclass
class SmtpServer:
    """An SMTP server that can be stopped and started again on the same port (a mail server outage)."""

    port: int = field(default_factory=free_port)
    inbox: list[Received] = field(default_factory=list)
    credentials: tuple[str, str] | None = None
    faults: Faults = field(default_factory=Faults)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _controller: Controller | None = None

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and self.credentials == (
            data.login.decode(),
            data.password.decode(),
        )
        return AuthResult(success=ok, handled=False)

    def start(self) -> None:
        kwargs: dict[str, Any] = {}
        if self.credentials:
            kwargs = {"authenticator": self._authenticate, "auth_require_tls": False, "auth_required": True}
        self._controller = Controller(
            _Handler(self.inbox, self.lock, self.faults), hostname=HOST, port=self.port, **kwargs
        )
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def messages(self) -> list[EmailMessage]:
        with self.lock:
            return [r.message for r in self.inbox]

    def by_recipient(self) -> dict[str, list[EmailMessage]]:
        out: dict[str, list[EmailMessage]] = {}
        with self.lock:
            for r in self.inbox:
                for to in r.recipients:
                    out.setdefault(to, []).append(r.message)
        return out


@contextmanager
def smtp_server(credentials: tuple[str, str] | None = None) -> Iterator[SmtpServer]:
    server = SmtpServer(credentials=credentials)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Hook:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class WebhookReceiver:
    """Records every POST; answers with the next status of ``statuses`` (then 200)."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.received: list[Hook] = []
        self.statuses = list(statuses or [])
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.received.append(
                    Hook(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((HOST, 0), Handler)
        self.url = f"http://{HOST}:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> WebhookReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
