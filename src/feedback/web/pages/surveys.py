"""The customer's side: open a link, answer, see the thank-you page. No login, no JavaScript needed."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template
from sqlalchemy.orm import Session

from feedback.db import transaction
from feedback.errors import InvalidInput
from feedback.models import SCALES, Question, QuestionKind, Survey, utcnow
from feedback.services.context import CONTEXT_INPUT_FIELDS
from feedback.services.invitations import open_invitation, public_survey
from feedback.services.submissions import Submission
from feedback.services.surveys import get_survey
from feedback.web.formguard import FIELDS, STAMP_FIELD, Verdict
from feedback.web.limits import PERSONAL_SURVEY, PUBLIC_SURVEY, RATE_LIMIT
from feedback.web.state import AnyRequest, AppContext

log = logging.getLogger(__name__)
Form = URLEncodedBody[dict[str, str]]
CONTEXT_PREFIX = "ctx_"
RESERVED = {"via"} | FIELDS


DEFAULT_LABELS = {
    QuestionKind.NPS: ("Not at all likely", "Extremely likely"),
    QuestionKind.CSAT: ("Very dissatisfied", "Very satisfied"),
    QuestionKind.CES: ("Strongly disagree", "Strongly agree"),
}


def _labels(q: Question) -> tuple[str, str]:
    """What the ends of a scale mean: the survey's own words, or the usual ones for its kind."""
    low, high = DEFAULT_LABELS.get(QuestionKind(q.kind), ("", ""))
    return q.low_label or low, q.high_label or high


def _options(q: Question) -> list[dict[str, str]]:
    if q.kind in SCALES:
        low, high = SCALES[QuestionKind(q.kind)]
        options = [{"value": str(n), "label": str(n), "hint": ""} for n in range(low, high + 1)]
        low_label, high_label = _labels(q)
        options[0]["hint"] = low_label
        options[-1]["hint"] = high_label
        return options
    return [{"value": c, "label": c, "hint": ""} for c in q.choices or []]


def _form(
    survey: Survey,
    action: str,
    values: Mapping[str, str],
    errors: Mapping[str, str] | None = None,
    hidden: Mapping[str, str] | None = None,
    status: int = 200,
    notice: str = "",
) -> Template:
    questions = [
        {
            "key": q.key,
            "kind": q.kind,
            "prompt": q.prompt,
            "required": q.required,
            "options": _options(q),
            "low_label": _labels(q)[0],
            "high_label": _labels(q)[1],
            "max_length": q.max_length,
        }
        for q in survey.questions
    ]
    return Template(
        template_name="survey.html",
        context={
            "title": f"Error: {survey.title}" if errors or notice else survey.title,
            "survey": survey,
            "questions": questions,
            "prompts": {q.key: q.prompt for q in survey.questions},
            "values": values,
            "errors": errors or {},
            "hidden": hidden or {},
            "action": action,
            "notice": notice,
            "honeypot": STAMP_FIELD in (hidden or {}),
        },
        status_code=status,
    )


def _prefill(survey: Survey, query: Mapping[str, str]) -> dict[str, str]:
    return {q.key: query[q.key] for q in survey.questions if q.key in query}


def _split(form: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """Form fields -> (answers, context). Context rides in hidden ``ctx_`` fields."""
    answers = {k: v for k, v in form.items() if k not in RESERVED and not k.startswith(CONTEXT_PREFIX)}
    context = {
        k[len(CONTEXT_PREFIX) :]: v
        for k, v in form.items()
        if k.startswith(CONTEXT_PREFIX) and k[len(CONTEXT_PREFIX) :] in CONTEXT_INPUT_FIELDS
    }
    return answers, context


def _errors_by_question(error: InvalidInput) -> dict[str, str]:
    out: dict[str, str] = {}
    for e in error.errors:
        out.setdefault(e.field.removeprefix("answers.").removeprefix("context."), e.message)
    return out


class SurveyPages(Controller):
    include_in_schema = False

    @get("/s/{token:str}", sync_to_thread=True)
    def invitation(
        self, request: AnyRequest, ctx: NamedDependency[AppContext], token: FromPath[str]
    ) -> Template:
        with transaction(ctx.sessions) as session:
            survey, _ = open_invitation(session, token)
            values = _prefill(survey, request.query_params)
            hidden = {"via": "email"} if values else {}
            return _form(survey, f"/s/{token}", values, hidden=hidden)

    @post("/s/{token:str}", opt={RATE_LIMIT: PERSONAL_SURVEY})
    async def answer_invitation(
        self, ctx: NamedDependency[AppContext], token: FromPath[str], data: Form
    ) -> Template | Redirect:
        answers, _ = _split(data)
        via = "email" if data.get("via") == "email" else "web"
        submission = Submission(answers=answers, via=via, submitted_at=utcnow(), token=token)

        def reload(session: Session) -> Survey:
            return open_invitation(session, token)[0]

        return await _submit(ctx, submission, reload, f"/s/{token}", {"via": via} if via == "email" else {})

    @get("/p/{key:str}", sync_to_thread=True, opt={RATE_LIMIT: PUBLIC_SURVEY})
    def public(self, request: AnyRequest, ctx: NamedDependency[AppContext], key: FromPath[str]) -> Template:
        with transaction(ctx.sessions) as session:
            survey = public_survey(session, key)
            query = request.query_params
            hidden = {CONTEXT_PREFIX + k: query[k] for k in CONTEXT_INPUT_FIELDS if query.get(k)}
            hidden[STAMP_FIELD] = ctx.form_guard.issue(key)
            return _form(survey, f"/p/{key}", _prefill(survey, query), hidden=hidden)

    @post("/p/{key:str}", opt={RATE_LIMIT: PUBLIC_SURVEY})
    async def answer_public(
        self, ctx: NamedDependency[AppContext], key: FromPath[str], data: Form
    ) -> Template | Redirect:
        answers, context = _split(data)
        submission = Submission(
            answers=answers, via="web", submitted_at=utcnow(), public_key=key, context=context
        )
        check = ctx.form_guard.check(key, data)
        hidden = {CONTEXT_PREFIX + k: v for k, v in context.items()} | {STAMP_FIELD: check.stamp}

        def reload(session: Session) -> Survey:
            return public_survey(session, key)

        if check.verdict is Verdict.OK:
            return await _submit(ctx, submission, reload, f"/p/{key}", hidden)
        log.info("public survey %s: answers not stored (%s)", key, check.verdict.value)

        def refuse() -> Template | Redirect:
            with transaction(ctx.sessions) as session:
                survey = reload(session)
                if check.verdict is Verdict.HONEYPOT:  # a bot: thank it, store nothing
                    return Redirect(f"/thanks/{survey.slug}", status_code=303)
                values = {k: str(v) for k, v in answers.items()}
                return _form(survey, f"/p/{key}", values, None, hidden, status=422, notice=check.notice)

        return await asyncio.to_thread(refuse)

    @get("/thanks/{slug:str}", sync_to_thread=True)
    def thanks(self, ctx: NamedDependency[AppContext], slug: FromPath[str]) -> Template:
        with transaction(ctx.sessions) as session:
            survey = get_survey(session, slug)
            message = survey.thank_you or "Thank you! Your answers help us do better."
            return Template(template_name="message.html", context={"title": survey.title, "message": message})


async def _submit(
    ctx: AppContext,
    submission: Submission,
    reload: Callable[[Session], Survey],
    action: str,
    hidden: Mapping[str, str],
) -> Template | Redirect:
    """Store the answers and say thank you, or show the form again with each error at its question."""
    try:
        stored = await ctx.writer.submit(submission)
    except InvalidInput as error:
        errors = _errors_by_question(error)
    else:
        return Redirect(f"/thanks/{stored.survey_slug}", status_code=303)

    def render() -> Template:
        with transaction(ctx.sessions) as session:
            values = {k: str(v) for k, v in submission.answers.items()}
            return _form(reload(session), action, values, errors, hidden, status=422)

    return await asyncio.to_thread(render)
