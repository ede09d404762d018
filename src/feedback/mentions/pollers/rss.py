"""RSS 2.0 and Atom feeds, parsed by feedparser, fetched with httpx and conditional GETs.

The cursor is the feed's ETag and Last-Modified, sent back as If-None-Match and If-Modified-Since: an
unchanged feed answers 304 and costs nothing. Entries already stored are recognized by their id (guid).
"""

from __future__ import annotations

import calendar
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import feedparser
import httpx

from feedback.mentions.pollers.http import PollError, fetch

KIND = "rss"


@dataclass(frozen=True)
class RssFeed:
    url: str
    source: str = "rss"

    @property
    def key(self) -> str:
        return self.url


@dataclass(frozen=True)
class Page:
    """Raw mentions read in one request, and the cursor to record once they are stored."""

    items: list[dict[str, Any]]
    cursor: str | None


def _when(entry: Any) -> datetime | None:
    for name in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(name)
        if value:
            return datetime.fromtimestamp(calendar.timegm(value), UTC)
    return None


def _text(entry: Any) -> str:
    title = str(entry.get("title") or "").strip()
    content = entry.get("content")
    body = str(content[0].get("value") or "") if content else str(entry.get("summary") or "")
    body = body.strip()
    if body and title and not body.startswith(title):
        return f"{title}\n\n{body}"
    return body or title


def entry_fields(entry: Any, feed: Any, now: datetime) -> dict[str, Any]:
    """Our fields from one feedparser entry."""
    link = entry.get("link")
    source_id = entry.get("id") or link
    if not source_id:
        source_id = hashlib.blake2b(
            f"{entry.get('title')}\x1f{entry.get('published')}".encode(), digest_size=16
        )
        source_id = source_id.hexdigest()
    return {
        "source_id": str(source_id),
        "text": _text(entry),
        "posted_at": _when(entry) or now,
        "author": entry.get("author"),
        "url": link,
        "lang": entry.get("language") or feed.get("language"),
    }


def read(client: httpx.Client, feed: RssFeed, cursor: str | None, now: datetime) -> Page | None:
    """The feed's entries, or None when it did not change since ``cursor``."""
    validators = json.loads(cursor) if cursor else {}
    headers = {"Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.5"}
    if validators.get("etag"):
        headers["If-None-Match"] = validators["etag"]
    if validators.get("last_modified"):
        headers["If-Modified-Since"] = validators["last_modified"]
    response = fetch(client, feed.url, now, headers=headers)
    if response.status_code == 304:
        return None
    parsed = feedparser.parse(
        response.content, response_headers={k.lower(): v for k, v in response.headers.items()}
    )
    if parsed.bozo and not parsed.entries and not parsed.feed:
        raise PollError(f"not an RSS or Atom feed at {feed.url}: {parsed.get('bozo_exception')}")
    validators = {
        "etag": response.headers.get("etag"),
        "last_modified": response.headers.get("last-modified"),
    }
    new_cursor = json.dumps({k: v for k, v in validators.items() if v}) or None
    return Page([entry_fields(entry, parsed.feed, now) for entry in parsed.entries], new_cursor)
