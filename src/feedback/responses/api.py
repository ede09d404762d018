"""/api/surveys/{slug}/responses: submit (public, idempotent) and read (scoped)."""

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import msgspec
from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, HeaderParameter, JSONBody, QueryParameter

from feedback.db import transaction
from feedback.metrics.service import parse_utc_time
from feedback.models import utcnow
from feedback.models.context import CONTEXT, ContextKind
from feedback.responses.query import ResponseOut, list_responses
from feedback.responses.submissions import Submission
from feedback.web.auth import READERS, authorize
from feedback.web.params import Time
from feedback.web.state import AnyRequest, AppContext

Short = Annotated[str, msgspec.Meta(max_length=200)]


_CONTEXT_TYPES: dict[ContextKind, Any] = {"text": Short | None, "seconds": int | None, "flag": bool | None}
if TYPE_CHECKING:
    ContextIn = msgspec.Struct
else:  # the interaction a response is about (without an invitation): the department and models/context.py's
    ContextIn = msgspec.defstruct(
        "ContextIn",
        [
            ("department", Short | None, None),
            *((f.name, _CONTEXT_TYPES[f.kind], None) for f in CONTEXT),
            # the company's own fields (FEEDBACK_CONTEXT_FIELDS_FILE): {"days_late": 3, "plan": "pro"}
            ("fields", dict[Short, Short | float] | None, None),
        ],
        forbid_unknown_fields=True,
        omit_defaults=True,
    )


class ResponseIn(msgspec.Struct, forbid_unknown_fields=True):
    # Values are checked against the survey's questions, so errors name the question: answers.<key>.
    answers: dict[str, Any]
    token: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    context: ContextIn | None = None


class StoredOut(msgspec.Struct):
    id: str
    survey: str
    submitted_at: datetime


class ResponseController(Controller):
    path = "/api/surveys/{slug:str}/responses"
    tags = ["responses"]

    @post(
        summary="Submit a response (public; send an Idempotency-Key to make retries safe)",
        status_code=201,
    )
    async def submit(
        self,
        ctx: NamedDependency[AppContext],
        slug: FromPath[str],
        data: JSONBody[ResponseIn],
        idempotency_key: Annotated[
            str | None, HeaderParameter(name="Idempotency-Key", max_length=255, required=False)
        ] = None,
    ) -> Response[StoredOut]:
        context: dict[str, Any] = msgspec.to_builtins(data.context) if data.context else {}
        context |= context.pop("fields", None) or {}
        submission = Submission(
            answers=data.answers,
            via="api",
            submitted_at=utcnow(),
            survey_slug=slug,
            token=data.token,
            context=context,
            idempotency_key=idempotency_key or None,
        )
        stored = await ctx.writer.submit(submission)
        headers = {"Idempotent-Replayed": "true"} if stored.replayed else {}
        body = StoredOut(str(stored.response_id), stored.survey_slug, stored.submitted_at)
        return Response(body, status_code=201, headers=headers)

    @get(sync_to_thread=True, summary="Responses, newest first (readers; a department head sees their own)")
    def list(
        self,
        request: AnyRequest,
        ctx: NamedDependency[AppContext],
        slug: FromPath[str],
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
        before: Time = None,
    ) -> list[ResponseOut]:
        moment = parse_utc_time(before, "before")
        with transaction(ctx.sessions) as session:
            caller = authorize(request, session, *READERS)
            return list_responses(session, caller, slug, limit=limit, before=moment)
