"""The customer's side: open a link, answer, see the thank-you page. No login, no JavaScript needed."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template
from sqlalchemy.orm import Session

from feedback.db import transaction
from feedback.errors import Conflict, FeedbackError, Gone, InvalidInput, NotFound
from feedback.i18n import (
    LANGUAGE_TAG,
    N_,
    SOURCE_LANGUAGE,
    Gettext,
    catalogue_languages,
    choose_language,
    gettext_for,
)
from feedback.invitations.service import open_invitation, partial_response, public_survey
from feedback.models import SCALES, Invitation, Question, QuestionKind, Survey, utcnow
from feedback.responses.context import CONTEXT_INPUT_FIELDS
from feedback.responses.submissions import Submission
from feedback.surveys.service import get_survey
from feedback.surveys.view import (
    clicked_scores,
    page_language,
    question_text,
    saved_answers,
    survey_languages,
    survey_text,
    unhappy,
)
from feedback.web.formguard import FIELDS, STAMP_FIELD, Verdict
from feedback.web.limits import PERSONAL_SURVEY, PUBLIC_SURVEY, RATE_LIMIT
from feedback.web.state import AnyRequest, AppContext

log = logging.getLogger(__name__)
Form = URLEncodedBody[dict[str, str]]
CONTEXT_PREFIX = "ctx_"
LANGUAGE_FIELD = "lang"
# Answer errors the page shows in the customer's language (others stay as the checks word them).
ANSWER_ERRORS = (
    N_("an answer is required"),
    N_("this survey has no such question"),
    N_("nothing to save: no answer was given"),
)
RESERVED = {"via", LANGUAGE_FIELD} | FIELDS


def default_labels(_: Gettext, kind: str) -> tuple[str, str]:
    """What the ends of a scale usually mean, in the page's language."""
    if kind == QuestionKind.NPS:
        return _("Not at all likely"), _("Extremely likely")
    if kind == QuestionKind.CSAT:
        return _("Very dissatisfied"), _("Very satisfied")
    if kind == QuestionKind.CES:
        return _("Strongly disagree"), _("Strongly agree")
    return "", ""


def _question(survey: Survey, q: Question, language: str, _: Gettext) -> dict[str, Any]:
    text = question_text(survey, q, language)
    low, high = default_labels(_, q.kind)
    low, high = text.low_label or low, text.high_label or high
    if q.kind in SCALES:
        first, last = SCALES[QuestionKind(q.kind)]
        options = [{"value": str(n), "label": str(n), "hint": ""} for n in range(first, last + 1)]
        options[0]["hint"], options[-1]["hint"] = low, high
    else:
        options = [{"value": c, "label": text.choice_labels.get(c, c), "hint": ""} for c in q.choices or []]
    return {
        "key": q.key,
        "kind": q.kind,
        "prompt": text.prompt,
        "required": q.required,
        "options": options,
        "low_label": low,
        "high_label": high,
        "max_length": q.max_length,
    }


@dataclass(frozen=True)
class Page:
    """Who is looking at a survey and how: the form's address, its language, and fixed hidden fields."""

    max_chars: int  # the server's limit for any text answer
    survey: Survey
    action: str
    language: str
    hidden: Mapping[str, str] = field(default_factory=dict)

    @property
    def gettext(self) -> Gettext:
        return gettext_for(self.language)


def _form(
    page: Page,
    values: Mapping[str, str],
    errors: Mapping[str, str] | None = None,
    status: int = 200,
    notice: str = "",
    unsaved: Mapping[str, str] | None = None,
    saved: bool = False,
) -> Template:
    """The survey form. ``unsaved``: scores clicked in an e-mail, offered to save (button, and JS on load).
    ``saved``: a partial response is stored; the page thanks for it and asks the follow-up first."""
    survey, language, _ = page.survey, page.language, page.gettext
    questions = [_question(survey, q, language, _) for q in survey.questions]
    for q in questions:
        q["limit"] = min(q["max_length"] or page.max_chars, page.max_chars)
    heading = ""
    if saved:
        questions.sort(key=lambda q: q["kind"] != QuestionKind.TEXT)  # the comment box first
        score = next((values[q["key"]] for q in questions if q["kind"] in SCALES and q["key"] in values), "")
        heading = _("Thanks, your %(score)s is saved. Anything to add?", score=score)
        followup = _("Sorry to hear that. What went wrong?") if unhappy(survey, values) else None
        for q in questions:
            if q["kind"] == QuestionKind.TEXT:
                q["prompt"] = followup or _("Great to hear! What did we do well?")
                q["focus"] = True
                break
    title = survey_text(survey, language, "title")
    return Template(
        template_name="survey.html",
        context={
            "_": _,
            "lang": language,
            "title": _("Error: %(title)s", title=title) if errors or notice else title,
            "survey_title": title,
            "intro": survey_text(survey, language, "intro"),
            "questions": questions,
            "prompts": {q["key"]: q["prompt"] for q in questions},
            "values": values,
            "errors": errors or {},
            "hidden": {**page.hidden, LANGUAGE_FIELD: language},
            "action": page.action,
            "notice": notice,
            "honeypot": STAMP_FIELD in page.hidden,
            "unsaved": dict(unsaved or {}),
            "saved_heading": heading,
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


def _errors_by_question(error: InvalidInput, _: Gettext) -> dict[str, str]:
    out: dict[str, str] = {}
    for e in error.errors:
        out.setdefault(e.field.removeprefix("answers.").removeprefix("context."), _(e.message))
    return out


def _message(title: str, message: str, language: str, status: int = 200, next_step: str = "") -> Template:
    context = {"_": gettext_for(language), "lang": language, "title": title, "message": message}
    return Template("message.html", context=context | {"next_step": next_step}, status_code=status)


def _link_unusable(error: FeedbackError, accept_language: str) -> Template:
    """Why a personal link cannot be answered any more, and what the customer can do instead."""
    language = choose_language(catalogue_languages(), SOURCE_LANGUAGE, None, accept_language)
    _ = gettext_for(language)
    if isinstance(error, Conflict):
        return _message(
            _("You have already answered"),
            _("Thank you: your answers are saved. Each link takes one set of answers."),
            language,
            409,
            _("Nothing else to do. If you want to add something, reply to the e-mail that brought you here."),
        )
    if isinstance(error, Gone) and "expired" in error.message:
        title, message = _("This link has expired"), _("This survey link was valid for a limited time.")
    elif isinstance(error, Gone):
        title, message = _("This survey is closed"), _("We are no longer collecting answers to this survey.")
    else:
        message = _("Please check that the whole link was copied from the e-mail.")
        return _message(_("This survey link is not valid"), message, language, error.status_code)
    next_step = _("To tell us something, reply to the e-mail that brought you here; a person reads it.")
    return _message(title, message, language, error.status_code, next_step)


class SurveyPages(Controller):
    include_in_schema = False

    @get("/s/{token:str}", sync_to_thread=True)
    def invitation(
        self, request: AnyRequest, ctx: NamedDependency[AppContext], token: FromPath[str]
    ) -> Template:
        """Never stores anything (mail scanners fetch every link): a clicked score is offered for saving."""
        accept = request.headers.get("accept-language", "")
        with transaction(ctx.sessions) as session:
            try:
                survey, invitation = open_invitation(session, token)
            except (Conflict, Gone, NotFound) as error:
                return _link_unusable(error, accept)
            page = Page(
                ctx.settings.max_text_chars,
                survey,
                f"/s/{token}",
                page_language(survey, invitation, accept),
                {"via": "email"},
            )
            partial = partial_response(session, invitation)
            saved = saved_answers(survey, partial) if partial is not None else {}
            clicked = clicked_scores(survey, request.query_params)
            if clicked and any(saved.get(k) != v for k, v in clicked.items()):
                values = saved | _prefill(survey, request.query_params)
                return _form(page, values, unsaved=clicked)
            if saved:
                return _form(page, saved, saved=True)
            values = _prefill(survey, request.query_params)
            return _form(replace(page, hidden={"via": "email"} if values else {}), values)

    @post("/s/{token:str}/score", opt={RATE_LIMIT: PERSONAL_SURVEY})
    async def save_score(
        self, request: AnyRequest, ctx: NamedDependency[AppContext], token: FromPath[str], data: Form
    ) -> Template | Redirect:
        """Keep the score clicked in an e-mail as a partial response (posted by the page, never by a GET)."""
        answers, _ = _split(data)
        submission = Submission(
            answers=answers,
            via="email",
            submitted_at=utcnow(),
            token=token,
            partial=True,
            language=_posted_language(data),
        )
        try:
            await ctx.writer.submit(submission)
        except (Conflict, Gone) as error:
            return _link_unusable(error, request.headers.get("accept-language", ""))
        except InvalidInput as error:
            invalid = error

            def render() -> Template:
                with transaction(ctx.sessions) as session:
                    survey, invitation = open_invitation(session, token)
                    page = Page(
                        ctx.settings.max_text_chars,
                        survey,
                        f"/s/{token}",
                        _language(survey, invitation, data, request),
                    )
                    return _form(page, answers, _errors_by_question(invalid, page.gettext), status=422)

            return await asyncio.to_thread(render)
        return Redirect(f"/s/{token}", status_code=303)

    @post("/s/{token:str}", opt={RATE_LIMIT: PERSONAL_SURVEY})
    async def answer_invitation(
        self, request: AnyRequest, ctx: NamedDependency[AppContext], token: FromPath[str], data: Form
    ) -> Template | Redirect:
        answers, _ = _split(data)
        via = "email" if data.get("via") == "email" else "web"

        def page(session: Session) -> Page:
            survey, invitation = open_invitation(session, token)
            hidden = {"via": via} if via == "email" else {}
            return Page(
                ctx.settings.max_text_chars,
                survey,
                f"/s/{token}",
                _language(survey, invitation, data, request),
                hidden,
            )

        submission = Submission(
            answers=answers, via=via, submitted_at=utcnow(), token=token, language=_posted_language(data)
        )
        try:
            return await _submit(ctx, submission, page)
        except (Conflict, Gone) as error:
            return _link_unusable(error, request.headers.get("accept-language", ""))

    @get("/p/{key:str}", sync_to_thread=True, opt={RATE_LIMIT: PUBLIC_SURVEY})
    def public(self, request: AnyRequest, ctx: NamedDependency[AppContext], key: FromPath[str]) -> Template:
        with transaction(ctx.sessions) as session:
            survey = public_survey(session, key)
            query = request.query_params
            hidden = {CONTEXT_PREFIX + k: query[k] for k in CONTEXT_INPUT_FIELDS if query.get(k)}
            hidden[STAMP_FIELD] = ctx.form_guard.issue(key)
            language = page_language(survey, None, request.headers.get("accept-language", ""))
            return _form(
                Page(ctx.settings.max_text_chars, survey, f"/p/{key}", language, hidden),
                _prefill(survey, query),
            )

    @post("/p/{key:str}", opt={RATE_LIMIT: PUBLIC_SURVEY})
    async def answer_public(
        self, request: AnyRequest, ctx: NamedDependency[AppContext], key: FromPath[str], data: Form
    ) -> Template | Redirect:
        answers, context = _split(data)
        submission = Submission(
            answers=answers,
            via="web",
            submitted_at=utcnow(),
            public_key=key,
            context=context,
            language=_posted_language(data),
        )
        check = ctx.form_guard.check(key, data)
        hidden = {CONTEXT_PREFIX + k: v for k, v in context.items()} | {STAMP_FIELD: check.stamp}

        def page(session: Session) -> Page:
            survey = public_survey(session, key)
            return Page(
                ctx.settings.max_text_chars,
                survey,
                f"/p/{key}",
                _language(survey, None, data, request),
                hidden,
            )

        if check.verdict is Verdict.OK:
            return await _submit(ctx, submission, page)
        log.info("public survey %s: answers not stored (%s)", key, check.verdict.value)

        def refuse() -> Template | Redirect:
            with transaction(ctx.sessions) as session:
                shown = page(session)
                if check.verdict is Verdict.HONEYPOT:  # a bot: thank it, store nothing
                    return _thanks_redirect(shown.survey.slug, shown.language)
                values = {k: str(v) for k, v in answers.items()}
                return _form(shown, values, status=422, notice=shown.gettext(check.notice))

        return await asyncio.to_thread(refuse)

    @get("/thanks/{slug:str}", sync_to_thread=True)
    def thanks(self, request: AnyRequest, ctx: NamedDependency[AppContext], slug: FromPath[str]) -> Template:
        with transaction(ctx.sessions) as session:
            survey = get_survey(session, slug)
            wanted = request.query_params.get(LANGUAGE_FIELD, "")
            languages = survey_languages(survey)
            language = wanted if wanted in languages else page_language(survey, None, "")
            _ = gettext_for(language)
            message = survey_text(survey, language, "thank_you") or _(
                "Thank you! Your answers help us do better."
            )
            return _message(survey_text(survey, language, "title"), message, language)


def _posted_language(form: Mapping[str, str]) -> str | None:
    """The language the form was shown in (a hidden field), if it looks like a language tag."""
    tag = form.get(LANGUAGE_FIELD, "")
    return tag if len(tag) <= 16 and LANGUAGE_TAG.match(tag) else None


def _language(
    survey: Survey, invitation: Invitation | None, form: Mapping[str, str], request: AnyRequest
) -> str:
    posted = _posted_language(form)
    if posted in survey_languages(survey):
        return str(posted)
    return page_language(survey, invitation, request.headers.get("accept-language", ""))


def _thanks_redirect(slug: str, language: str) -> Redirect:
    return Redirect(f"/thanks/{slug}?{LANGUAGE_FIELD}={language}", status_code=303)


def _in_transaction(ctx: AppContext, work: Callable[[Session], Any]) -> Any:
    with transaction(ctx.sessions) as session:
        return work(session)


async def _submit(
    ctx: AppContext, submission: Submission, page: Callable[[Session], Page]
) -> Template | Redirect:
    """Store the answers and say thank you, or show the form again with each error at its question."""
    try:
        stored = await ctx.writer.submit(submission)
    except InvalidInput as error:
        invalid = error
    else:
        return _thanks_redirect(stored.survey_slug, submission.language or SOURCE_LANGUAGE)

    def render() -> Template:
        with transaction(ctx.sessions) as session:
            shown = page(session)
            values = {k: str(v) for k, v in submission.answers.items()}
            return _form(shown, values, _errors_by_question(invalid, shown.gettext), status=422)

    return await asyncio.to_thread(render)
