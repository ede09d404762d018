"""Surveys: define them from a spec (TOML file or JSON), open and close them, read them."""

from __future__ import annotations

import secrets
import tomllib
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
from sqlalchemy import exists, select
from sqlalchemy.orm import Session, selectinload

from feedback.accounts.access import Caller
from feedback.analysis.scales import SCALE_NAMES, SCALES, Bands
from feedback.departments.service import Slug, get_department
from feedback.errors import FieldError, InvalidInput, NotFound
from feedback.i18n import LANGUAGE_TAG
from feedback.models import Answer, Department, Question, QuestionKind, Survey, SurveyStatus, utcnow
from feedback.specs import Label, LongText, Name, Prompt, convert_each

Key = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_]{0,63}$", examples=["nps"])]


class QuestionSpec(msgspec.Struct, forbid_unknown_fields=True):
    key: Key
    type: Literal["nps", "csat", "ces", "choice", "text"]
    prompt: Prompt
    required: bool = False
    choices: list[Name] | None = None
    low_label: Label | None = None
    high_label: Label | None = None
    max_length: Annotated[int, msgspec.Meta(ge=1, le=20000)] | None = None


Language = Annotated[
    str, msgspec.Meta(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$", max_length=16, examples=["pt", "pt-BR"])
]


class QuestionTranslation(msgspec.Struct, forbid_unknown_fields=True):
    """A question's texts in another language; the choices' labels in the question's order (answers keep
    the default language's value)."""

    prompt: Prompt | None = None
    low_label: Label | None = None
    high_label: Label | None = None
    choices: list[Name] | None = None


class SurveyTranslation(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    title: Name | None = None
    intro: LongText | None = None
    thank_you: LongText | None = None
    questions: dict[str, QuestionTranslation] = {}


BandEnds = Annotated[
    tuple[int, ...],  # not tuple[int, int]: the API's schema would then not say that it holds two
    msgspec.Meta(
        min_length=2,
        max_length=2,
        description="[last score of the low band, first score of the high band], e.g. [2, 4] for CSAT",
        examples=[[3, 4]],
    ),
]


class BandsSpec(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """A survey's own cut-offs per scale (e.g. ``csat = [3, 4]``: 1-3 dissatisfied, 4-5 satisfied); a scale
    not given uses the company's (FEEDBACK_NPS_BANDS, FEEDBACK_CSAT_BANDS, FEEDBACK_CES_BANDS)."""

    nps: BandEnds | None = None
    csat: BandEnds | None = None
    ces: BandEnds | None = None

    def given(self) -> dict[str, tuple[int, int]]:
        return {
            scale: (pair[0], pair[1]) for scale in SCALE_NAMES if (pair := getattr(self, scale)) is not None
        }


class SurveySpec(msgspec.Struct, forbid_unknown_fields=True):
    """A survey definition: the same shape in a TOML file and in the JSON API."""

    slug: Slug
    title: Name
    department: Slug
    questions: Annotated[list[QuestionSpec], msgspec.Meta(min_length=1, max_length=50)]
    status: Literal["open", "closed"] = "open"
    intro: LongText = ""
    thank_you: LongText = ""
    anonymous_link: bool = False
    language: Language = "en"  # the language the texts above are in
    # e.g. [translations.pt] in a TOML file; each key a language tag (checked with the rest: a 422 naming it)
    translations: dict[str, SurveyTranslation] = {}
    # e.g. [bands] csat = [3, 4] in a TOML file: this survey's own cut-offs (default: the company's)
    bands: BandsSpec = msgspec.field(default_factory=BandsSpec)


class QuestionOut(msgspec.Struct):
    key: str
    type: str
    prompt: str
    required: bool
    choices: list[str] | None
    low_label: str | None
    high_label: str | None
    max_length: int | None


class SurveyOut(msgspec.Struct):
    slug: str
    title: str
    department: str
    status: str
    intro: str
    thank_you: str
    public_link: str | None
    questions: list[QuestionOut]
    language: str
    translations: dict[str, SurveyTranslation]
    bands: BandsSpec  # the survey's own cut-offs (scales not given: the company's)
    created_at: datetime
    updated_at: datetime


def _check_semantics(spec: SurveySpec) -> None:
    errors: list[FieldError] = [
        FieldError(f"translations.{tag}", "a language tag such as pt or pt-BR")
        for tag in spec.translations
        if len(tag) > 16 or not LANGUAGE_TAG.match(tag)
    ]
    seen: set[str] = set()
    for i, q in enumerate(spec.questions):
        where = f"questions[{i}]"
        if q.key in seen:
            errors.append(FieldError(f"{where}.key", f"duplicate question key {q.key!r}"))
        seen.add(q.key)
        if q.type == "choice":
            if not q.choices or len(q.choices) < 2:
                errors.append(FieldError(f"{where}.choices", "a choice question needs at least two choices"))
            elif len(set(q.choices)) != len(q.choices):
                errors.append(FieldError(f"{where}.choices", "choices must be distinct"))
        elif q.choices is not None:
            errors.append(FieldError(f"{where}.choices", f"only choice questions have choices, not {q.type}"))
        if q.max_length is not None and q.type != "text":
            errors.append(FieldError(f"{where}.max_length", "only text questions have a max_length"))
    errors.extend(_check_translations(spec))
    errors.extend(_check_bands(spec))
    if errors:
        raise InvalidInput.of(errors)


def _check_translations(spec: SurveySpec) -> list[FieldError]:
    errors: list[FieldError] = []
    questions = {q.key: q for q in spec.questions}
    for language, translation in spec.translations.items():
        where = f"translations.{language}"
        if language == spec.language:
            errors.append(FieldError(where, f"{language!r} is the survey's own language"))
        for key, text in translation.questions.items():
            question = questions.get(key)
            if question is None:
                errors.append(FieldError(f"{where}.questions.{key}", f"the survey has no question {key!r}"))
            elif text.choices is not None and len(text.choices) != len(question.choices or []):
                errors.append(
                    FieldError(
                        f"{where}.questions.{key}.choices",
                        f"{len(text.choices)} label(s) for {len(question.choices or [])} choice(s)",
                    )
                )
    return errors


def _check_bands(spec: SurveySpec) -> list[FieldError]:
    """Each scale's bands inside its range and in order, for a scale the survey asks."""
    errors: list[FieldError] = []
    asked = {q.type for q in spec.questions}
    for scale, (low_max, high_min) in spec.bands.given().items():
        where, s = f"bands.{scale}", SCALES[scale]
        if scale not in asked:
            errors.append(FieldError(where, f"the survey has no {scale} question"))
        elif not s.low <= low_max < high_min <= s.high:
            errors.append(
                FieldError(
                    where,
                    f"[{low_max}, {high_min}]: expected [last low score, first high score] with "
                    f"{s.low} <= last low < first high <= {s.high}",
                )
            )
    return errors


def survey_bands(survey: Survey) -> dict[str, Bands]:
    """The survey's own bands by scale (checked when stored)."""
    return {scale: Bands.of_pair(scale, pair) for scale, pair in (survey.bands or {}).items()}


def parse_survey_spec(data: Any) -> SurveySpec:
    """A validated spec from untrusted data, or InvalidInput naming every bad field at once."""
    spec = convert_each(data, SurveySpec)
    _check_semantics(spec)
    return spec


def read_survey_file(path: Path) -> SurveySpec:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput.on(str(path), f"not valid TOML: {exc}") from exc
    return parse_survey_spec(data)


def _has_answers(session: Session, question: Question) -> bool:
    return bool(session.scalar(select(exists().where(Answer.question_id == question.id))))


def load_survey(session: Session, spec: SurveySpec) -> Survey:
    """Create the survey, or update it in place. Questions match by key; a question that already
    has answers keeps its type and cannot be removed, so stored answers never change meaning."""
    department = get_department(session, spec.department, field="department")
    survey = session.scalar(
        select(Survey).where(Survey.slug == spec.slug).options(selectinload(Survey.questions))
    )
    if survey is None:
        survey = Survey(slug=spec.slug, department_id=department.id, questions=[])
        session.add(survey)
    survey.title = spec.title
    survey.intro = spec.intro
    survey.thank_you = spec.thank_you
    survey.language = spec.language
    survey.translations = msgspec.to_builtins(spec.translations)
    # Metrics derive bands from score histograms (rollups), so new bands need no recount: every surface
    # counts this survey's answers by them from this transaction's commit on.
    survey.bands = {scale: list(pair) for scale, pair in spec.bands.given().items()} or None
    survey.department_id = department.id
    survey.status = SurveyStatus(spec.status)
    if spec.anonymous_link and survey.public_key is None:
        survey.public_key = secrets.token_urlsafe(12)
    elif not spec.anonymous_link:
        survey.public_key = None

    existing = {q.key: q for q in survey.questions}
    wanted = {q.key for q in spec.questions}
    errors: list[FieldError] = []
    for key, question in existing.items():
        if key not in wanted and question.id is not None and _has_answers(session, question):
            errors.append(FieldError("questions", f"question {key!r} has answers and cannot be removed"))
    kept: list[Question] = []
    for position, q in enumerate(spec.questions):
        known = existing.get(q.key)
        question = known if known is not None else Question(key=q.key)
        if (
            known is not None
            and question.kind != q.type
            and question.id is not None
            and _has_answers(session, question)
        ):
            errors.append(
                FieldError(
                    f"questions[{position}].type",
                    f"question {q.key!r} has answers as {question.kind}; it cannot become {q.type}",
                )
            )
        question.position = position
        question.kind = QuestionKind(q.type)
        question.prompt = q.prompt
        question.required = q.required
        question.choices = q.choices
        question.low_label = q.low_label
        question.high_label = q.high_label
        question.max_length = q.max_length
        kept.append(question)
    if errors:
        raise InvalidInput.of(errors)
    survey.questions = kept
    survey.updated_at = utcnow()  # the response writer re-reads questions when this moves
    session.flush()
    return survey


def get_survey(session: Session, slug: str, scope: int | None = None) -> Survey:
    """The survey with this slug; for a caller who sees only department ``scope``, another department's
    survey is as unknown as one that does not exist (the same 404), so nothing is learnt of it."""
    survey = session.scalar(select(Survey).where(Survey.slug == slug).options(selectinload(Survey.questions)))
    if survey is None or (scope is not None and survey.department_id != scope):
        raise NotFound(f"no survey {slug!r}")
    return survey


def list_surveys(session: Session, department_id: int | None = None) -> list[Survey]:
    query = select(Survey).options(selectinload(Survey.questions)).order_by(Survey.slug)
    if department_id is not None:
        query = query.where(Survey.department_id == department_id)
    return list(session.scalars(query))


def set_status(session: Session, slug: str, status: SurveyStatus) -> Survey:
    survey = get_survey(session, slug)
    if survey.status == status:
        return survey
    survey.status = status
    survey.updated_at = utcnow()
    session.flush()
    return survey


def public_link(survey: Survey, base_url: str) -> str | None:
    return f"{base_url}/p/{survey.public_key}" if survey.public_key else None


def describe(session: Session, survey: Survey, base_url: str) -> SurveyOut:
    """The survey as the API shows it."""
    department = session.get(Department, survey.department_id)
    assert department is not None
    return SurveyOut(
        slug=survey.slug,
        title=survey.title,
        department=department.slug,
        status=survey.status,
        intro=survey.intro,
        thank_you=survey.thank_you,
        public_link=public_link(survey, base_url),
        questions=[
            QuestionOut(
                key=q.key,
                type=q.kind,
                prompt=q.prompt,
                required=q.required,
                choices=q.choices,
                low_label=q.low_label,
                high_label=q.high_label,
                max_length=q.max_length,
            )
            for q in survey.questions
        ],
        created_at=survey.created_at,
        updated_at=survey.updated_at,
        language=survey.language,
        translations=msgspec.convert(survey.translations or {}, dict[str, SurveyTranslation]),
        bands=msgspec.convert(survey.bands or {}, BandsSpec),
    )


def read_surveys(session: Session, caller: Caller, base_url: str) -> list[SurveyOut]:
    """The surveys ``caller`` may see (their department's, for a head)."""
    return [describe(session, s, base_url) for s in list_surveys(session, caller.scope())]


def read_survey(session: Session, caller: Caller, slug: str, base_url: str) -> SurveyOut:
    """One survey if ``caller`` may see it; NotFound otherwise (as for one that does not exist)."""
    survey = get_survey(session, slug)
    if not caller.may_see(survey.department_id):
        raise NotFound(f"no survey {slug!r}")
    return describe(session, survey, base_url)
