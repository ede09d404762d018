"""/api/sentiment: comments whose words disagree with their score; text with no score, judged by the model."""

from typing import Annotated, Literal

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromQuery, QueryParameter

from feedback.db import transaction
from feedback.metrics.service import parse_utc_time
from feedback.sentiment.service import (
    DisagreementOut,
    UnscoredOut,
    find_disagreements,
    model_at,
    score_unscored,
)
from feedback.web.auth import READERS, authorize
from feedback.web.params import Time
from feedback.web.state import AnyRequest, AppContext

Text = Annotated[str | None, QueryParameter(required=False, max_length=100)]
Limit = Annotated[int, QueryParameter(ge=1, le=1000)]


class SentimentController(Controller):
    path = "/api/sentiment"
    tags = ["sentiment"]

    @get(
        "/disagreements",
        sync_to_thread=True,
        summary="Comments whose score and words disagree (a 9-10 with an angry comment, a 1 with a glad one)",
    )
    def disagreements(
        self,
        request: AnyRequest,
        ctx: NamedDependency[AppContext],
        since: Time = None,
        until: Time = None,
        limit: Limit = 100,
    ) -> list[DisagreementOut]:
        model = model_at(ctx.settings.sentiment_model)
        with transaction(ctx.sessions) as session:
            caller = authorize(request, session, *READERS)
            return find_disagreements(
                session,
                model,
                caller,
                since=parse_utc_time(since, "since"),
                until=parse_utc_time(until, "until"),
                limit=limit,
            )

    @get(
        "/unscored",
        sync_to_thread=True,
        summary="Text with no score (comments without a score, or mentions), judged by the learned model",
    )
    def unscored(
        self,
        request: AnyRequest,
        ctx: NamedDependency[AppContext],
        kind: FromQuery[Literal["comment", "mention"]] = "comment",
        since: Time = None,
        until: Time = None,
        limit: Limit = 100,
    ) -> list[UnscoredOut]:
        model = model_at(ctx.settings.sentiment_model)
        with transaction(ctx.sessions) as session:
            caller = authorize(request, session, *READERS)
            return score_unscored(
                session,
                model,
                kind,
                caller,
                since=parse_utc_time(since, "since"),
                until=parse_utc_time(until, "until"),
                limit=limit,
            )
