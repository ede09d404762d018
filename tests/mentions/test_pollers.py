"""Pollers against a real HTTP server of the test's own: RSS 2.0, Atom and a Mastodon-compatible API,
with paging, resuming, conditional GETs, rate limits (429) and server errors (5xx)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from feedback.analysis.matching import Matcher
from feedback.analysis.noise import NoiseRules
from feedback.mentions.pollers import PollerConfig, cursors, parse_feeds, poll_all
from feedback.mentions.rules import IngestOptions
from feedback.models import FeedCursor, Mention
from tests.mentions.feed_server import Answer, FeedServer, Seen, feed_server

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
OPTIONS = IngestOptions(Matcher(), NoiseRules(), 40_000, 3)
TAG_PATH = "/api/v1/timelines/tag/acme"


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with feed_server() as running:
        yield running


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as client:
        yield client


def config(data: dict[str, Any]) -> PollerConfig:
    return PollerConfig(parse_feeds(data), OPTIONS)


def mentions(sessions) -> dict[str, Mention]:  # type: ignore[no-untyped-def]
    with sessions() as session:
        return {m.source_id: m for m in session.scalars(select(Mention))}


def cursor_row(sessions, key: str) -> FeedCursor:  # type: ignore[no-untyped-def]
    with sessions() as session:
        row = session.scalar(select(FeedCursor).where(FeedCursor.key == key))
        assert row is not None
        return row


# -- Mastodon --------------------------------------------------------------------------------------------


def status(n: int, **overrides: Any) -> dict[str, Any]:
    """A status as Mastodon's API returns it (only the fields a client reads, with real shapes)."""
    item: dict[str, Any] = {
        "id": str(110_000_000_000_000_000 + n),
        "created_at": f"2026-11-2{n % 3}T0{n % 10}:15:00.000Z",
        "in_reply_to_id": None,
        "sensitive": False,
        "spoiler_text": "",
        "visibility": "public",
        "language": "en",
        "uri": f"https://social.example/users/fan{n}/statuses/{n}",
        "url": f"https://social.example/@fan{n}/{n}",
        "replies_count": 0,
        "reblogs_count": n % 4,
        "favourites_count": n * 2,
        "content": '<p>My <a href="https://social.example/tags/acme" class="mention hashtag" rel="tag">'
        f"#<span>acme</span></a> order number {n} arrived with a cracked screen and support is silent</p>",
        "reblog": None,
        "account": {
            "id": str(900 + n),
            "username": f"fan{n}",
            "acct": f"fan{n}@other.example",
            "display_name": f"Fan {n}",
            "followers_count": 10 * n,
            "following_count": 3,
            "statuses_count": 40,
        },
        "media_attachments": [],
        "mentions": [],
        "tags": [{"name": "acme", "url": "https://social.example/tags/acme"}],
    }
    item.update(overrides)
    return item


class Timeline:
    """A hashtag timeline that pages like Mastodon: newest first, max_id / min_id / since_id, Link."""

    def __init__(self, server: FeedServer, statuses: list[dict[str, Any]]) -> None:
        self.server, self.statuses = server, statuses
        self.fail_next: list[Answer] = []

    def __call__(self, seen: Seen) -> Answer:
        if self.fail_next:
            return self.fail_next.pop(0)
        q, limit = seen.query, int(seen.query.get("limit", "20"))
        ordered = sorted(self.statuses, key=lambda s: int(s["id"]), reverse=True)
        if "max_id" in q:
            ordered = [s for s in ordered if int(s["id"]) < int(q["max_id"])]
        if "since_id" in q:
            ordered = [s for s in ordered if int(s["id"]) > int(q["since_id"])]
        if "min_id" in q:  # the statuses right after min_id, still newest first
            ordered = [s for s in ordered if int(s["id"]) > int(q["min_id"])][-limit:]
        page = ordered[:limit]
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if page:
            base = f"{self.server.base}{TAG_PATH}?limit={limit}"
            headers["Link"] = (
                f'<{base}&max_id={page[-1]["id"]}>; rel="next", <{base}&min_id={page[0]["id"]}>; rel="prev"'
            )
        return 200, headers, json.dumps(page).encode()


def mastodon_config(server: FeedServer, **extra: Any) -> PollerConfig:
    return config(
        {"mastodon": [{"instance": server.base, "hashtag": "acme", "max_pages": 2, "limit": 2, **extra}]}
    )


def test_mastodon_pages_back_on_the_first_poll_then_resumes_forward_exactly(server, http, sessions) -> None:
    timeline = Timeline(server, [status(n) for n in range(1, 8)])
    server.routes[TAG_PATH] = timeline
    cfg = mastodon_config(server)
    first = poll_all(sessions, cfg, http, NOW)
    assert [(r.status, r.stored, r.pages) for r in first] == [("ok", 4, 2)]
    assert {int(i) % 1000 for i in mentions(sessions)} == {7, 6, 5, 4}  # the newest page, then one older
    assert "max_id" in server.requests_to(TAG_PATH)[1].query  # followed rel="next"
    key = cfg.feeds[0].key
    assert cursor_row(sessions, key).cursor == status(7)["id"]

    timeline.statuses += [status(n) for n in range(8, 13)]
    server.seen.clear()
    second = poll_all(sessions, cfg, http, NOW + timedelta(minutes=5))
    assert [(r.status, r.stored) for r in second] == [("ok", 4)]  # two pages per poll: 8-11
    assert [s.query.get("min_id") for s in server.requests_to(TAG_PATH)] == [status(7)["id"], status(9)["id"]]
    assert cursor_row(sessions, key).cursor == status(11)["id"]
    third = poll_all(sessions, cfg, http, NOW + timedelta(minutes=10))
    assert [(r.status, r.stored) for r in third] == [("ok", 1)]
    fourth = poll_all(sessions, cfg, http, NOW + timedelta(minutes=15))
    assert [(r.status, r.stored, r.duplicates) for r in fourth] == [("ok", 0, 0)]
    assert {int(i) % 1000 for i in mentions(sessions)} == set(range(4, 13))


def test_mastodon_statuses_are_stored_with_their_reach_and_reblogs_are_reposts(
    server, http, sessions
) -> None:
    original = status(1)
    reblog = status(
        2,
        content="",
        reblog=original,
        url=None,
        language=None,
        account={"acct": "booster", "followers_count": 5000},
    )
    server.routes[TAG_PATH] = Timeline(server, [original, reblog])
    poll_all(sessions, mastodon_config(server), http, NOW)
    rows = mentions(sessions)
    first = rows[original["id"]]
    assert first.source == "mastodon" and first.via == "mastodon"
    assert first.author == "fan1@other.example" and first.followers == 10
    assert first.likes == 2 and first.shares == 1 and first.lang == "en"
    assert first.text_norm == "My acme order number 1 arrived with a cracked screen and support is silent"
    assert "<p>" in first.text  # the post as published
    assert first.posted_at == datetime(2026, 11, 21, 1, 15, tzinfo=UTC)
    assert first.url == "https://social.example/@fan1/1" and first.noise is None
    boosted = rows[reblog["id"]]
    assert boosted.noise == "repost" and boosted.author == "booster" and boosted.followers == 5000
    assert boosted.text_norm == first.text_norm and boosted.text_hash == first.text_hash


def test_a_server_error_mid_paging_keeps_the_pages_read_and_resumes_after_them(
    server, http, sessions
) -> None:
    timeline = Timeline(server, [status(n) for n in range(1, 4)])
    server.routes[TAG_PATH] = timeline
    cfg = mastodon_config(server, max_pages=5)
    poll_all(sessions, cfg, http, NOW)  # cursor at 3
    timeline.statuses += [status(n) for n in range(4, 9)]
    original = Timeline.__call__
    calls = {"n": 0}

    def flaky(self: Timeline, seen: Seen) -> Answer:
        calls["n"] += 1
        return (502, {}, b"bad gateway") if calls["n"] == 2 else original(self, seen)

    server.routes[TAG_PATH] = lambda seen: flaky(timeline, seen)
    result = poll_all(sessions, cfg, http, NOW + timedelta(minutes=1))[0]
    assert result.status == "error" and "502" in (result.error or "") and result.stored == 2
    key = cfg.feeds[0].key
    assert cursor_row(sessions, key).cursor == status(5)["id"]  # the page before the error is kept
    later = NOW + timedelta(minutes=3)  # after the 1-minute backoff
    resumed = poll_all(sessions, cfg, http, later)[0]
    assert (resumed.status, resumed.stored, resumed.duplicates) == ("ok", 3, 0)
    assert {int(i) % 1000 for i in mentions(sessions)} == set(range(1, 9))


def test_429_waits_until_the_peers_reset_time(server, http, sessions) -> None:
    timeline = Timeline(server, [status(1)])
    reset = NOW + timedelta(minutes=7)
    timeline.fail_next = [
        (
            429,
            {
                "X-RateLimit-Limit": "300",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": reset.isoformat().replace("+00:00", ".000Z"),
            },
            b'{"error":"Too many requests"}',
        )
    ]
    server.routes[TAG_PATH] = timeline
    cfg = mastodon_config(server)
    limited = poll_all(sessions, cfg, http, NOW)[0]
    assert limited.status == "rate_limited"
    row = cursor_row(sessions, cfg.feeds[0].key)
    assert row.next_poll_after == reset and row.failures == 0 and "429" in (row.last_error or "")
    asked = len(server.seen)
    early = poll_all(sessions, cfg, http, NOW + timedelta(minutes=6))[0]
    assert early.status == "busy" and len(server.seen) == asked  # no request before the reset
    after = poll_all(sessions, cfg, http, NOW + timedelta(minutes=8))[0]
    assert (after.status, after.stored) == ("ok", 1)
    assert cursor_row(sessions, cfg.feeds[0].key).last_error is None


def test_retry_after_in_seconds_is_honoured_too(server, http, sessions) -> None:
    server.routes["/feed.xml"] = lambda seen: (429, {"Retry-After": "120"}, b"slow down")
    cfg = config({"rss": [{"url": f"{server.base}/feed.xml"}]})
    assert poll_all(sessions, cfg, http, NOW)[0].status == "rate_limited"
    assert cursor_row(sessions, cfg.feeds[0].key).next_poll_after == NOW + timedelta(seconds=120)


def test_5xx_backs_off_more_after_each_failure_and_recovers(server, http, sessions) -> None:
    timeline = Timeline(server, [status(1)])
    timeline.fail_next = [(503, {}, b"maintenance"), (500, {}, b"oops")]
    server.routes[TAG_PATH] = timeline
    cfg = mastodon_config(server)
    key = cfg.feeds[0].key
    first = poll_all(sessions, cfg, http, NOW)[0]
    assert first.status == "error" and "503" in (first.error or "")
    row = cursor_row(sessions, key)
    assert row.failures == 1 and row.next_poll_after == NOW + timedelta(minutes=1)
    assert poll_all(sessions, cfg, http, NOW + timedelta(seconds=30))[0].status == "busy"
    second = NOW + timedelta(minutes=2)
    assert poll_all(sessions, cfg, http, second)[0].status == "error"
    row = cursor_row(sessions, key)
    assert row.failures == 2 and row.next_poll_after == second + timedelta(minutes=2)
    recovered = poll_all(sessions, cfg, http, second + timedelta(minutes=3))[0]
    assert (recovered.status, recovered.stored) == ("ok", 1)
    row = cursor_row(sessions, key)
    assert row.failures == 0 and row.last_error is None and row.next_poll_after is None


def test_an_unreachable_peer_is_an_error_not_a_crash(http, sessions) -> None:
    cfg = config({"rss": [{"url": "http://127.0.0.1:9/feed.xml"}]})  # nothing listens on port 9
    result = poll_all(sessions, cfg, http, NOW)[0]
    assert result.status == "error" and "ConnectError" in (result.error or "")


def test_a_feed_being_polled_by_another_run_is_skipped(server, http, sessions) -> None:
    server.routes[TAG_PATH] = Timeline(server, [status(1)])
    cfg = mastodon_config(server)
    claim = cursors.claim(sessions, "mastodon", cfg.feeds[0].key, NOW)  # another run holds the feed
    assert isinstance(claim, cursors.Claim)
    assert poll_all(sessions, cfg, http, NOW)[0].status == "busy" and server.seen == []
    cursors.finish(sessions, claim, NOW)
    assert poll_all(sessions, cfg, http, NOW)[0].stored == 1


def test_mastodon_search_pages_forward_with_min_id(server, http, sessions) -> None:
    everything = [status(n) for n in range(1, 6)]

    def search(seen: Seen) -> Answer:
        assert seen.query["type"] == "statuses" and seen.query["q"] == "acme corp"
        assert seen.headers.get("authorization") == "Bearer token-from-env"
        found = sorted(everything, key=lambda s: int(s["id"]), reverse=True)
        if "min_id" in seen.query:
            found = [s for s in found if int(s["id"]) > int(seen.query["min_id"])][
                -int(seen.query["limit"]) :
            ]
        page = found[: int(seen.query["limit"])]
        return (
            200,
            {"Content-Type": "application/json"},
            json.dumps({"accounts": [], "statuses": page, "hashtags": []}).encode(),
        )

    server.routes["/api/v2/search"] = search
    import os

    os.environ["FEEDBACK_TEST_MASTODON_TOKEN"] = "token-from-env"
    try:
        cfg = config(
            {
                "mastodon": [
                    {
                        "instance": server.base,
                        "query": "acme corp",
                        "limit": 2,
                        "max_pages": 5,
                        "access_token_env": "FEEDBACK_TEST_MASTODON_TOKEN",
                    }
                ]
            }
        )
        assert poll_all(sessions, cfg, http, NOW)[0].stored == 2  # no cursor: the newest page
        everything.extend(status(n) for n in range(6, 10))
        again = poll_all(sessions, cfg, http, NOW + timedelta(minutes=1))[0]
    finally:
        del os.environ["FEEDBACK_TEST_MASTODON_TOKEN"]
    assert again.stored == 4 and again.pages == 3
    assert {int(i) % 1000 for i in mentions(sessions)} == {4, 5, 6, 7, 8, 9}


# -- RSS and Atom ------------------------------------------------------------------------------------------

RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel>
    <title>Consumer news</title>
    <link>https://news.example/</link>
    <description>Stories about shops</description>
    <language>en-us</language>
    {items}
  </channel>
</rss>"""
ITEM = """<item>
      <title>Acme customers report {n} days of delivery delays</title>
      <link>https://news.example/story/{n}</link>
      <guid isPermaLink="false">news-example-{n}</guid>
      <pubDate>Fri, 20 Nov 2026 0{n}:30:00 GMT</pubDate>
      <dc:creator>Reporter {n}</dc:creator>
      <description>&lt;p&gt;Shoppers say parcels are &lt;b&gt;weeks&lt;/b&gt; late &amp;amp;
        support is slow.&lt;/p&gt;</description>
    </item>"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="de">
  <title>Bewertungen</title>
  <id>urn:uuid:60a76c80-d399-11d9-b93C-0003939e0af6</id>
  <updated>2026-11-21T18:30:02Z</updated>
  <entry>
    <title>Tolle Beratung</title>
    <link href="https://reviews.example/r/1"/>
    <id>urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a</id>
    <updated>2026-11-21T18:30:02Z</updated>
    <author><name>Kundin A.</name></author>
    <content type="html">&lt;p&gt;Sehr freundlich, great service and fast help!&lt;/p&gt;</content>
  </entry>
</feed>"""


def test_rss_is_read_then_asked_again_conditionally(server, http, sessions) -> None:
    version = {"items": [1, 2], "etag": '"v1"'}

    def feed(seen: Seen) -> Answer:
        if seen.headers.get("if-none-match") == version["etag"]:
            return 304, {"ETag": version["etag"]}, b""
        body = RSS.format(items="".join(ITEM.format(n=n) for n in version["items"])).encode()
        return (
            200,
            {
                "Content-Type": "application/rss+xml",
                "ETag": version["etag"],
                "Last-Modified": "Fri, 20 Nov 2026 09:00:00 GMT",
            },
            body,
        )

    server.routes["/feed.xml"] = feed
    cfg = config({"rss": [{"url": f"{server.base}/feed.xml", "source": "news"}]})
    first = poll_all(sessions, cfg, http, NOW)[0]
    assert (first.status, first.stored) == ("ok", 2)
    rows = mentions(sessions)
    story = rows["news-example-1"]
    assert story.source == "news" and story.via == "rss" and story.author == "Reporter 1"
    assert story.url == "https://news.example/story/1" and story.lang == "en-us"
    assert story.posted_at == datetime(2026, 11, 20, 1, 30, tzinfo=UTC)
    expected = (
        "Acme customers report 1 days of delivery delays "
        "Shoppers say parcels are weeks late & support is slow."
    )
    assert story.text_norm == expected
    unchanged = poll_all(sessions, cfg, http, NOW + timedelta(minutes=5))[0]
    assert unchanged.status == "not_modified"
    assert server.seen[-1].headers["if-modified-since"] == "Fri, 20 Nov 2026 09:00:00 GMT"
    version.update(items=[1, 2, 3], etag='"v2"')
    changed = poll_all(sessions, cfg, http, NOW + timedelta(minutes=10))[0]
    assert (changed.stored, changed.duplicates) == (1, 2)
    assert set(mentions(sessions)) == {"news-example-1", "news-example-2", "news-example-3"}


def test_atom_entries_are_read_too(server, http, sessions) -> None:
    server.routes["/atom"] = lambda seen: (200, {"Content-Type": "application/atom+xml"}, ATOM.encode())
    cfg = config({"rss": [{"url": f"{server.base}/atom", "source": "reviews"}]})
    assert poll_all(sessions, cfg, http, NOW)[0].stored == 1
    entry = mentions(sessions)["urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a"]
    assert entry.author == "Kundin A." and entry.lang == "de"
    assert entry.text_norm == "Tolle Beratung Sehr freundlich, great service and fast help!"
    assert entry.polarity is not None and entry.polarity > 0


def test_one_failing_feed_does_not_stop_the_others(server, http, sessions) -> None:
    server.routes["/atom"] = lambda seen: (200, {"Content-Type": "application/atom+xml"}, ATOM.encode())
    server.routes["/broken"] = lambda seen: (200, {"Content-Type": "text/html"}, b"<html>not a feed")
    cfg = config({"rss": [{"url": f"{server.base}/missing"}, {"url": f"{server.base}/atom"}]})
    results = poll_all(sessions, cfg, http, NOW)
    assert [r.status for r in results] == ["error", "ok"] and "404" in (results[0].error or "")


def test_feedback_mentions_poll_reads_its_config_file(
    server, database_url, sessions, tmp_path, monkeypatch
) -> None:
    from click.testing import CliRunner

    from feedback.cli import main

    server.routes["/atom"] = lambda seen: (200, {"Content-Type": "application/atom+xml"}, ATOM.encode())
    pollers = tmp_path / "pollers.toml"
    pollers.write_text(f'[[rss]]\nurl = "{server.base}/atom"\nsource = "reviews"\n')
    monkeypatch.setenv("FEEDBACK_DATABASE_URL", database_url)
    monkeypatch.setenv("FEEDBACK_POLLERS_FILE", str(pollers))
    first = CliRunner().invoke(main, ["mentions", "poll"], catch_exceptions=False)
    assert first.exit_code == 0 and f"{server.base}/atom: ok, 1 stored" in first.output
    again = CliRunner().invoke(main, ["mentions", "poll", "--config", str(pollers)], catch_exceptions=False)
    assert again.exit_code == 0 and "0 stored, 1 already stored" in again.output
    bad = tmp_path / "bad.toml"
    bad.write_text('[[mastodon]]\ninstance = "https://social.example"\n')
    refused = CliRunner().invoke(main, ["mentions", "poll", "--config", str(bad)], catch_exceptions=False)
    assert refused.exit_code == 1 and "mastodon[0]" in refused.output
    server.routes["/atom"] = lambda seen: (500, {}, b"down")
    failing = CliRunner().invoke(main, ["mentions", "poll"], catch_exceptions=False)
    assert failing.exit_code == 1 and "error" in failing.output and "500" in failing.output
