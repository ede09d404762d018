"""Limits on hostile input: request body sizes, and rate limits per client address and survey.

Rate limits are fixed windows counted in the memory of each web worker process: no database write per
request, and a refused request costs nothing. With ``feedback serve --workers 4`` (or several machines)
a client can make up to four times a limit before every worker refuses it; the limits are meant to stop
floods, not to meter. A handler opts in with ``opt={RATE_LIMIT: <kind>}``. Sign-in attempts are counted
in the database instead, shared by all workers (accounts/login_throttle.py).

The client's address is the peer's, unless the peer is one of FEEDBACK_TRUSTED_PROXIES: then it is the
last X-Forwarded-For address that none of those proxies added. IPv6 clients count per /64 network.
"""

from __future__ import annotations

import ipaddress
import math
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from litestar import Request
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from feedback.config import Rate, Settings
from feedback.errors import TooManyRequests

RATE_LIMIT = "rate_limit"  # the key in a route handler's opt
PUBLIC_SURVEY = "public_survey"  # /p/{key}: per client address; answers also per survey
PERSONAL_SURVEY = "personal_survey"  # /s/{token}: per client address
WEBHOOK = "webhook"  # /api/mentions/webhook/{source}: per source and client address

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def body_too_large(request: Request[Any, Any, Any]) -> str:
    """The 413 message, naming the limit of the route the body was sent to."""
    limit = request.route_handler.resolve_request_max_body_size()
    if not limit:
        return "the request body is too large"
    return f"the request body is too large: at most {limit:,} bytes ({_human(limit)}) are accepted here"


def _human(size: int) -> str:
    for unit, scale in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:g} {unit}"
    return f"{size} bytes"


class FixedWindows:
    """Counters per (bucket, key), each for a window that starts at its first request. Thread-safe."""

    def __init__(self, max_keys: int = 100_000, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._windows: dict[tuple[str, str], tuple[float, int]] = {}  # -> (window end, count)
        self._max_keys = max_keys
        self._clock = clock

    def hit(self, bucket: str, key: str, rate: Rate) -> float:
        """Count one request: 0 when within the rate, else the seconds until its window ends."""
        if rate.count == 0:
            return 0.0
        now = self._clock()
        with self._lock:
            end, count = self._windows.get((bucket, key), (0.0, 0))
            if now >= end:
                end, count = now + rate.seconds, 0
            self._windows[(bucket, key)] = (end, count + 1)
            if len(self._windows) > self._max_keys:
                self._prune(now)
        return end - now if count + 1 > rate.count else 0.0

    def _prune(self, now: float) -> None:
        """Forget ended windows; if that is not enough, the oldest half (a flood of distinct keys)."""
        self._windows = {k: v for k, v in self._windows.items() if v[0] > now}
        if len(self._windows) > self._max_keys // 2:
            keep = list(self._windows.items())[len(self._windows) - self._max_keys // 2 :]
            self._windows = dict(keep)


def _parse_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None


def _within(host: str, networks: Sequence[Network]) -> bool:
    ip = _parse_ip(host)
    return ip is not None and any(ip in net for net in networks)


def _bucket(host: str) -> str:
    ip = _parse_ip(host)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is None:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else ip) if ip else host


def client_address(scope: Scope, trusted: Sequence[Network]) -> str:
    """Who sent the request: the peer, or behind trusted proxies the address the nearest one saw."""
    client = scope.get("client")
    peer = client[0] if client else "unknown"
    if not trusted or not _within(peer, trusted):
        return _bucket(peer)
    hops = [
        hop.strip()
        for name, value in scope["headers"]
        if name.lower() == b"x-forwarded-for"
        for hop in value.decode("latin-1").split(",")
        if hop.strip()
    ]
    for hop in reversed(hops):
        if not _within(hop, trusted):
            return _bucket(hop)
    return _bucket(hops[0] if hops else peer)


def _seconds(wait: float) -> int:
    return max(1, math.ceil(wait))


class Limits:
    """The app's rate limits: survey pages and webhooks (see the module docstring)."""

    def __init__(self, settings: Settings, windows: FixedWindows | None = None) -> None:
        self.settings = settings
        self.windows = windows or FixedWindows()
        self.trusted = [ipaddress.ip_network(p, strict=False) for p in settings.trusted_proxies]

    def client(self, scope: Scope) -> str:
        return client_address(scope, self.trusted)

    def check(self, kind: str, scope: Scope) -> None:
        """Count this request against its limits; TooManyRequests (429) when one is exceeded."""
        ip, params, s = self.client(scope), scope["path_params"], self.settings
        if kind == WEBHOOK:
            source = str(params.get("source", "")).lower()
            self._hit("webhook", f"{source} {ip}", s.rate_webhook, "too many webhook requests")
            return
        self._hit("survey-ip", ip, s.rate_survey_ip, "too many requests from your network")
        if kind == PUBLIC_SURVEY and scope.get("method") == "POST":
            survey = str(params.get("key", ""))
            self._hit("survey", survey, s.rate_survey, "this survey is receiving too many answers right now")

    def _hit(self, bucket: str, key: str, rate: Rate, what: str) -> None:
        wait = self.windows.hit(bucket, key, rate)
        if wait:
            seconds = _seconds(wait)
            raise TooManyRequests(f"{what}; please try again in {seconds} seconds", seconds)


class RateLimitMiddleware(ASGIMiddleware):
    """``Limits.check`` for handlers naming a kind in ``opt[RATE_LIMIT]``, before the body is read."""

    scopes = (ScopeType.HTTP,)

    def __init__(self, limits: Limits) -> None:
        self.limits = limits

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        kind = scope["route_handler"].opt.get(RATE_LIMIT)
        if kind is not None:
            self.limits.check(kind, scope)
        await next_app(scope, receive, send)
