"""/api/surveys/{slug}/responses: submit (public, idempotent) and read (scoped)."""

from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody, QueryParameter

from feedback.db import transaction
from feedback.models import utcnow
from feedback.services import surveys
from feedback.services.privacy import exposure
from feedback.services.response_queries import ResponseOut, list_responses
from feedback.services.submissions import Submission
from feedback.web.auth import READERS, authorize
from feedback.web.state import AnyRequest, AppContext

Short = Annotated[str, msgspec.Meta(max_length=200)]


class ContextIn(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """The interaction this response is about (for responses without an invitation)."""

    department: Short | None = None
    channel: Short | None = None
    product: Short | None = None
    team: Short | None = None
    agent: Short | None = None
    contractor: Short | None = None
    region: Short | None = None
    handle_time_s: int | None = None
    wait_time_s: int | None = None
    first_contact_resolved: bool | None = None
    # The company's own fields (FEEDBACK_CONTEXT_FIELDS_FILE), by name: {"days_late": 3, "plan": "pro"}.
    fields: dict[Short, Short | float] | None = None


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
        before: FromQuery[datetime | None] = None,
    ) -> list[ResponseOut]:
        with transaction(ctx.sessions) as session:
            caller = authorize(request, session, *READERS)
            survey = surveys.get_survey(session, slug)
            found = list_responses(session, survey, department_id=caller.scope(), limit=limit, before=before)
            return exposure.answers(caller, found)
