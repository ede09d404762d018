"""Social-media and review-site mentions, and where each poller stopped."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from feedback.models.base import Base, UTCDateTime


class Mention(Base):
    """One public post about the company. (source, source_id) is stored once, whatever way it came in."""

    __tablename__ = "mentions"
    __table_args__ = (
        UniqueConstraint("source", "source_id"),
        Index("ix_mentions_posted_at", "posted_at"),
        Index("ix_mentions_text_hash", "text_hash"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(32))  # twitter, reddit, mastodon, rss, appstore, cfpb, ...
    source_id: Mapped[str] = mapped_column(String(255))
    via: Mapped[str] = mapped_column(String(16))  # webhook, import, rss, mastodon
    author: Mapped[str | None] = mapped_column(String(255))
    url: Mapped[str | None] = mapped_column(String(2048))
    text: Mapped[str] = mapped_column(Text)  # as posted
    text_norm: Mapped[str] = mapped_column(Text)  # links, handles and hashtags made harmless for analysis
    text_hash: Mapped[str] = mapped_column(String(32))  # of text_norm: the same words from many accounts
    lang: Mapped[str | None] = mapped_column(String(16))
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    followers: Mapped[int | None] = mapped_column(Integer)
    likes: Mapped[int | None] = mapped_column(Integer)
    shares: Mapped[int | None] = mapped_column(Integer)
    product: Mapped[str | None] = mapped_column(String(128))
    brand: Mapped[str | None] = mapped_column(String(128))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    polarity: Mapped[float | None] = mapped_column(Float)
    subjectivity: Mapped[float | None] = mapped_column(Float)
    analyzer: Mapped[str | None] = mapped_column(String(64))
    # Spam and noise are flagged, never dropped: "repost", "copypasta" (same text, many accounts), ...
    noise: Mapped[str | None] = mapped_column(String(32))


class FeedCursor(Base):
    """Where a poller (an RSS/Atom feed, a Mastodon timeline or search) stopped, so it resumes there."""

    __tablename__ = "feed_cursors"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # rss, mastodon
    key: Mapped[str] = mapped_column(String(512), unique=True)  # the feed URL, or instance + query
    cursor: Mapped[str | None] = mapped_column(
        Text
    )  # since_id, ETag/Last-Modified, ... (poller's own format)
    last_polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_poll_after: Mapped[datetime | None] = mapped_column(UTCDateTime)  # rate limits and backoff
    last_error: Mapped[str | None] = mapped_column(Text)
    failures: Mapped[int] = mapped_column(Integer, default=0)
