"""Polling open protocols for mentions: RSS/Atom feeds and Mastodon-compatible APIs.

``poll_all`` polls every configured feed once, each from where it stopped (its FeedCursor), and is safe
to run twice, also at the same time: a feed is claimed by one poll at a time, and a mention is stored
once. The pollers file (``feedback mentions poll --config FILE``, or FEEDBACK_POLLERS_FILE) is TOML:

    [[rss]]
    url = "https://status.example.com/feed.xml"
    source = "news"                         # optional; "rss" by default

    [[mastodon]]
    instance = "https://mastodon.example"
    hashtag = "acme"                        # a hashtag timeline, or:
    # query = "acme corp"                   # a status search (most instances need a token for it)
    access_token_env = "FEEDBACK_MASTODON_TOKEN"   # optional: the variable holding the token
    max_pages = 10                          # per poll; the next poll goes on from there
"""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import httpx
import msgspec
from sqlalchemy.orm import Session, sessionmaker

from feedback.db import transaction
from feedback.errors import FieldError, InvalidInput
from feedback.mentions.pollers import cursors, mastodon, rss
from feedback.mentions.pollers.http import PollError, RateLimitError
from feedback.mentions.prepare import Row, canonical_source
from feedback.mentions.rules import IngestOptions
from feedback.mentions.store import Stored, Target, store_mentions, target
from feedback.specs import convert

log = logging.getLogger(__name__)
Url = Annotated[str, msgspec.Meta(pattern=r"^https?://\S+$")]


class RssIn(msgspec.Struct, forbid_unknown_fields=True):
    url: Url
    source: str = "rss"


class MastodonIn(msgspec.Struct, forbid_unknown_fields=True):
    instance: Url
    hashtag: str | None = None
    query: str | None = None
    source: str = "mastodon"
    access_token_env: str | None = None
    max_pages: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 10
    limit: Annotated[int, msgspec.Meta(ge=1, le=40)] = 40


class PollersIn(msgspec.Struct, forbid_unknown_fields=True):
    rss: list[RssIn] = []
    mastodon: list[MastodonIn] = []


Feed = rss.RssFeed | mastodon.MastodonFeed


@dataclass(frozen=True)
class PollerConfig:
    feeds: tuple[Feed, ...]
    options: IngestOptions


def parse_feeds(data: Any) -> tuple[Feed, ...]:
    spec = convert(data, PollersIn)
    errors = [
        FieldError(f"mastodon[{i}]", "give a hashtag or a query (one of them)")
        for i, m in enumerate(spec.mastodon)
        if bool(m.hashtag) == bool(m.query)
    ]
    if errors:
        raise InvalidInput.of(errors)
    feeds: list[Feed] = [rss.RssFeed(r.url, canonical_source(r.source)) for r in spec.rss]
    feeds += [
        mastodon.MastodonFeed(
            m.instance,
            m.hashtag,
            m.query,
            canonical_source(m.source),
            m.access_token_env,
            m.max_pages,
            m.limit,
        )
        for m in spec.mastodon
    ]
    return tuple(feeds)


def load_config(path: str | Path, options: IngestOptions) -> PollerConfig:
    file = Path(path)
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInput.on("pollers file", f"no such file: {file}") from None
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput.on(str(file), f"not valid TOML: {exc}") from exc
    try:
        return PollerConfig(parse_feeds(data), options)
    except InvalidInput as exc:
        exc.message = f"{file}: {exc.message}"
        raise


@dataclass
class PollResult:
    """What one feed's poll did. status: ok, not_modified, busy (rate limited, backing off or being
    polled by another run), rate_limited or error."""

    key: str
    status: str
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    pages: int = 0
    error: str | None = None


def _store_page(
    factory: sessionmaker[Session],
    feed: Feed,
    kind: str,
    items: Iterable[dict[str, Any]],
    cursor: str | None,
    options: IngestOptions,
    destination: Target,
    now: datetime,
    result: PollResult,
) -> None:
    preparer = options.preparer(feed.source, kind, now, destination)
    rows: list[Row] = []
    for item in items:
        prepared = preparer.prepare(item, f"{feed.key} {item.get('source_id')}: ")
        if isinstance(prepared, tuple):
            rows.append(prepared)
        elif isinstance(prepared, list):
            result.rejected += 1
            log.warning("mention skipped: %s", "; ".join(f"{e.field} {e.message}" for e in prepared))
    with transaction(factory) as session:
        stored = store_mentions(session, rows, options.copypasta_accounts) if rows else Stored()
        cursors.advance(session, feed.key, cursor)
    result.stored += stored.stored
    result.duplicates += stored.duplicates
    result.pages += 1


def poll_feed(
    factory: sessionmaker[Session],
    feed: Feed,
    options: IngestOptions,
    destination: Target,
    client: httpx.Client,
    now: datetime,
) -> PollResult:
    kind = rss.KIND if isinstance(feed, rss.RssFeed) else mastodon.KIND
    claim = cursors.claim(factory, kind, feed.key, now)
    if isinstance(claim, cursors.Busy):
        return PollResult(feed.key, "busy", error=claim.last_error)
    result = PollResult(feed.key, "ok")
    wait_until: datetime | None = None
    try:
        if isinstance(feed, rss.RssFeed):
            page = rss.read(client, feed, claim.cursor, now)
            if page is None:
                result.status = "not_modified"
            else:
                _store_page(factory, feed, kind, page.items, page.cursor, options, destination, now, result)
        else:
            for mpage in mastodon.read(client, feed, claim.cursor, now):
                _store_page(factory, feed, kind, mpage.items, mpage.cursor, options, destination, now, result)
                wait_until = mpage.wait_until
    except RateLimitError as exc:
        result.status, result.error = "rate_limited", str(exc)
        cursors.finish(factory, claim, now, error=str(exc), retry_at=exc.until)
        return result
    except PollError as exc:
        result.status, result.error = "error", str(exc)
        cursors.finish(factory, claim, now, error=str(exc))
        return result
    except BaseException:
        cursors.finish(factory, claim, now, error="the poll stopped unexpectedly")
        raise
    cursors.finish(factory, claim, now, retry_at=wait_until)
    return result


def http_client() -> httpx.Client:
    """The HTTP client polls use (a timeout, redirects followed, a User-Agent naming the program)."""
    from feedback import __version__

    headers = {"User-Agent": f"feedback/{__version__} (social listening)"}
    return httpx.Client(timeout=30.0, follow_redirects=True, headers=headers)


def poll_all(
    session_factory: sessionmaker[Session], config: PollerConfig, client: httpx.Client, now: datetime
) -> list[PollResult]:
    """Poll every configured feed once (see the module docstring); one failing feed never stops the rest."""
    with transaction(session_factory) as session:
        destination = target(session, config.options.matcher)
    return [
        poll_feed(session_factory, feed, config.options, destination, client, now) for feed in config.feeds
    ]
