"""Slow clients are cut off: time limits on reading a request's headers and its body.

uvicorn limits only the idle time between two requests of a connection (``timeout_keep_alive``); a client
that opens a connection and sends its headers, or its body, one byte every few seconds would hold that
connection (and the server's memory for it) for as long as it likes. This protocol, uvicorn's httptools
protocol with two timers, closes such a connection:

- headers: from the connection's first byte (or its opening, if nothing comes) and from the first byte of
  each later request on it, the headers must be complete within FEEDBACK_HEADER_TIMEOUT_S;
- body: from the end of the headers, the whole body must arrive within FEEDBACK_BODY_TIMEOUT_S.

A request cut off gets ``408 Request Timeout`` (unless its answer has begun) and the connection is closed;
a handler that was reading the body sees the client disconnect. ``feedback serve`` uses it (see
``server_options``); FEEDBACK_KEEP_ALIVE_S sets uvicorn's own idle limit.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from feedback.config import Settings, get_settings

log = logging.getLogger(__name__)

TIMEOUT_ANSWER = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\nconnection: close\r\n"
    b"content-length: 30\r\n\r\nthe request arrived too slowly"
)


@functools.cache
def _timeouts() -> tuple[float, float]:
    settings = get_settings()  # the environment is the same for every connection of a worker
    return settings.header_timeout_s, settings.body_timeout_s


class TimedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, with a time limit on reading headers and another on reading a body."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timeout, self._body_timeout = _timeouts()
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_timer(self._header_timeout, "headers")

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_timer()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._start_timer(self._header_timeout, "headers")

    def on_headers_complete(self) -> None:
        self._stop_timer()
        super().on_headers_complete()
        self._start_timer(self._body_timeout, "body")

    def on_message_complete(self) -> None:
        self._stop_timer()
        super().on_message_complete()

    def _start_timer(self, seconds: float, part: str) -> None:
        self._stop_timer()
        if seconds > 0:
            self._timer = self.loop.call_later(seconds, self._cut_off, seconds, part)

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _cut_off(self, seconds: float, part: str) -> None:
        self._timer = None
        if self.transport.is_closing():
            return
        log.warning("a client took over %g s to send a request's %s; connection closed", seconds, part)
        if part == "headers" or self.cycle is None or not self.cycle.response_started:  # no answer begun
            self.transport.write(TIMEOUT_ANSWER)
        self.transport.close()


def server_options(settings: Settings) -> dict[str, Any]:
    """What ``feedback serve`` passes to uvicorn about connections: the protocol above and the idle limit."""
    return {"http": TimedHttpProtocol, "timeout_keep_alive": settings.keep_alive_s}
