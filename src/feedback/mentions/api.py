"""/api/mentions: signed webhook batches in (per source), and reads for readers (scoped)."""

from typing import Annotated

import anyio
import msgspec
from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, QueryParameter

from feedback.db import transaction
from feedback.mentions import webhook
from feedback.mentions.query import (
    MentionFilter,
    MentionOut,
    NoiseFilter,
    SentimentClass,
    read_mentions,
)
from feedback.mentions.rules import IngestOptions
from feedback.metrics.service import parse_utc_time
from feedback.models import utcnow
from feedback.web.auth import READERS, authorize
from feedback.web.limits import RATE_LIMIT, WEBHOOK
from feedback.web.params import RowId, Time
from feedback.web.state import AnyRequest, AppContext


class WebhookOut(msgspec.Struct):
    received: int
    stored: int
    duplicates: int


class MentionController(Controller):
    path = "/api/mentions"
    tags = ["mentions"]

    @post(
        "/webhook/{source:str}",
        status_code=200,
        summary="Receive a signed batch of mentions (HMAC-SHA256; see the README's Social listening section)",
        opt={RATE_LIMIT: WEBHOOK},
    )
    async def receive(
        self, request: AnyRequest, ctx: NamedDependency[AppContext], source: FromPath[str]
    ) -> WebhookOut:
        body = await request.body()
        now = utcnow()
        webhook.verify(
            webhook.secret_for(source.lower()),
            request.headers.get(webhook.TIMESTAMP_HEADER),
            request.headers.get(webhook.SIGNATURE_HEADER),
            body,
            now,
            ctx.settings.mention_replay_window_s,
        )
        items = webhook.parse_batch(body, ctx.settings.mention_batch_max)
        options = IngestOptions.from_settings(ctx.settings)
        stored = await anyio.to_thread.run_sync(
            webhook.receive_batch, ctx.sessions, source, items, options, now
        )
        return WebhookOut(len(items), stored.stored, stored.duplicates)

    @get(sync_to_thread=True, summary="Mentions, newest first (readers; a department head sees their own)")
    def list(
        self,
        request: AnyRequest,
        ctx: NamedDependency[AppContext],
        source: FromQuery[str | None] = None,
        since: Time = None,
        until: Time = None,
        product: FromQuery[str | None] = None,
        sentiment: FromQuery[SentimentClass | None] = None,
        noise: FromQuery[NoiseFilter] = NoiseFilter.INCLUDE,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
        before_id: RowId = None,
    ) -> list[MentionOut]:
        selection = MentionFilter(
            source=source,
            since=parse_utc_time(since, "since"),
            until=parse_utc_time(until, "until"),
            product=product,
            sentiment=sentiment,
            noise=noise,
            limit=limit,
            before_id=before_id,
        )
        with transaction(ctx.sessions) as session:
            caller = authorize(request, session, *READERS)
            return read_mentions(session, caller, selection)
