"""A Mastodon-compatible API: a hashtag timeline (/api/v1/timelines/tag/:hashtag) or a status search
(/api/v2/search?type=statuses&q=...).

The cursor is the newest status id stored. A poll asks for what follows it (``min_id``: the statuses
right after the cursor, oldest first in pages) and walks newer pages through the Link header's
rel="prev" (the search API has no Link header: the next ``min_id`` is the page's newest id), storing each
page with its new cursor in one transaction, so a poll stopped anywhere resumes exactly where it was.
The first poll of a feed (no cursor yet) reads the newest page and up to ``max_pages`` - 1 older ones
(rel="next", ``max_id``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx

from feedback.mentions.pollers.http import PollError, exhausted_until, fetch

KIND = "mastodon"


@dataclass(frozen=True)
class MastodonFeed:
    instance: str  # https://mastodon.example
    hashtag: str | None = None
    query: str | None = None
    source: str = "mastodon"
    access_token_env: str | None = None  # name of the environment variable holding a token, if needed
    max_pages: int = 10
    limit: int = 40

    @property
    def key(self) -> str:
        base = self.instance.rstrip("/")
        return f"{base}/tags/{self.hashtag}" if self.hashtag else f"{base}/search?q={self.query}"

    @property
    def endpoint(self) -> str:
        base = self.instance.rstrip("/")
        if self.hashtag:
            return f"{base}/api/v1/timelines/tag/{quote(self.hashtag.lstrip('#'), safe='')}"
        return f"{base}/api/v2/search"


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    cursor: str | None  # the newest id stored once this page is
    wait_until: datetime | None = None  # the peer says no requests are left until then


def id_key(status_id: str) -> tuple[int, str]:
    """Ids order as numbers when they are numbers (Mastodon's are), as text otherwise."""
    return (len(status_id), status_id) if status_id.isdigit() else (0, status_id)


def newest(a: str | None, b: str) -> str:
    return b if a is None or id_key(b) > id_key(a) else a


def status_fields(status: dict[str, Any]) -> dict[str, Any]:
    """Our fields from one status. A reblog is someone else's post passed on: its words, flagged repost."""
    reblog = status.get("reblog")
    inner: dict[str, Any] = reblog if isinstance(reblog, dict) else status
    account = status.get("account") or {}
    text = str(inner.get("content") or "")
    if inner.get("spoiler_text"):
        text = f"{inner['spoiler_text']}\n\n{text}"
    return {
        "source_id": str(status.get("id") or ""),
        "text": text,
        "posted_at": status.get("created_at"),
        "author": account.get("acct"),
        "url": status.get("url") or inner.get("url") or status.get("uri"),
        "lang": inner.get("language"),
        "followers": account.get("followers_count"),
        "likes": inner.get("favourites_count"),
        "shares": inner.get("reblogs_count"),
        "repost": isinstance(reblog, dict),
    }


def _statuses(feed: MastodonFeed, response: httpx.Response) -> list[dict[str, Any]]:
    try:
        data = response.json()
    except ValueError as exc:
        raise PollError(f"not JSON from {response.url}: {exc}") from exc
    statuses = data.get("statuses") if feed.query and isinstance(data, dict) else data
    if not isinstance(statuses, list) or not all(isinstance(s, dict) and s.get("id") for s in statuses):
        raise PollError(f"unexpected answer from {response.url}: expected a list of statuses")
    return statuses


def read(client: httpx.Client, feed: MastodonFeed, cursor: str | None, now: datetime) -> Iterator[Page]:
    """Pages of statuses after ``cursor`` (see the module docstring), each with its new cursor."""
    headers = {"Accept": "application/json"}
    token = os.environ.get(feed.access_token_env, "") if feed.access_token_env else ""
    if token:
        headers["Authorization"] = f"Bearer {token}"
    base: dict[str, str] = {"limit": str(feed.limit)}
    if feed.query:
        base.update(q=feed.query, type="statuses")
    catching_up = cursor is not None
    url: str = feed.endpoint
    params: dict[str, str] | None = {**base, "min_id": cursor} if cursor else dict(base)
    position = cursor
    for _ in range(feed.max_pages):
        response = fetch(client, url, now, params=params, headers=headers)
        statuses = _statuses(feed, response)
        for status in statuses:
            position = newest(position, str(status["id"]))
        wait = exhausted_until(response, now)
        yield Page([status_fields(s) for s in statuses], position, wait)
        if wait is not None or len(statuses) < feed.limit:
            return
        link = response.links.get("prev" if catching_up else "next", {}).get("url")
        if link:
            url, params = link, None
        elif catching_up and position is not None:
            url, params = feed.endpoint, {**base, "min_id": position}
        else:
            return
