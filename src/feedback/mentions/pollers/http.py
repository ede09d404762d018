"""GET with the answers every poller treats alike: 429 waits for the peer's reset time, other failures
(5xx, 4xx, network) are errors that back off."""

from __future__ import annotations

import email.utils
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import httpx

DEFAULT_RATE_LIMIT_WAIT = timedelta(minutes=5)


class PollError(Exception):
    """The peer could not be read this time; the message says why (recorded as the cursor's last_error)."""


class RateLimitError(PollError):
    def __init__(self, message: str, until: datetime) -> None:
        super().__init__(message)
        self.until = until


def _time(value: str, now: datetime) -> datetime | None:
    """A reset time: ISO 8601 (Mastodon), Unix seconds, seconds from now (small numbers), or an HTTP date."""
    value = value.strip()
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        pass
    else:
        return now + timedelta(seconds=number) if number < 10**9 else datetime.fromtimestamp(number, UTC)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def reset_time(headers: Mapping[str, str], now: datetime) -> datetime | None:
    """When a rate-limited peer takes requests again: Retry-After, else X-RateLimit-Reset."""
    for name in ("retry-after", "x-ratelimit-reset"):
        if name in headers and (when := _time(headers[name], now)) is not None:
            return max(when, now)
    return None


def exhausted_until(response: httpx.Response, now: datetime) -> datetime | None:
    """The reset time when a successful answer says no requests are left (X-RateLimit-Remaining: 0)."""
    if response.headers.get("x-ratelimit-remaining", "").strip() == "0":
        return reset_time(response.headers, now)
    return None


def fetch(
    client: httpx.Client,
    url: str,
    now: datetime,
    *,
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> httpx.Response:
    """The answer to GET ``url`` (2xx or 304), or PollError / RateLimitError saying why not."""
    try:
        response = client.get(url, params=params, headers=headers)
    except httpx.HTTPError as exc:
        raise PollError(f"{type(exc).__name__} for {url}: {exc}") from exc
    if response.status_code == 429:
        until = reset_time(response.headers, now) or now + DEFAULT_RATE_LIMIT_WAIT
        raise RateLimitError(
            f"HTTP 429 rate limited by {response.url.host}; next poll after {until:%Y-%m-%d %H:%M:%S}Z",
            until.astimezone(UTC),
        )
    if response.status_code == 304 or response.is_success:
        return response
    raise PollError(f"HTTP {response.status_code} from {response.url}: {response.text[:200]}")
