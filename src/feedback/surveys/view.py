"""A survey as one customer sees it: its texts in their language, and what a saved score asks next."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from feedback.analysis.scales import Bands
from feedback.config import get_settings
from feedback.i18n import choose_language
from feedback.models import SCALES, Invitation, Question, QuestionKind, Response, Survey


@dataclass(frozen=True)
class QuestionText:
    prompt: str
    low_label: str | None
    high_label: str | None
    choice_labels: dict[str, str]  # stored value -> what the page shows


def survey_languages(survey: Survey) -> list[str]:
    """The survey's default language first, then its translations."""
    return [survey.language, *sorted(set(survey.translations or {}) - {survey.language})]


def page_language(survey: Survey, invitation: Invitation | None, accept_language: str) -> str:
    wanted = invitation.language if invitation else None
    return choose_language(survey_languages(survey), survey.language, wanted, accept_language)


def _translation(survey: Survey, language: str) -> Mapping[str, Any]:
    if language == survey.language:
        return {}
    return dict((survey.translations or {}).get(language, {}))


def survey_text(survey: Survey, language: str, field: str) -> str:
    """The survey's title, intro or thank_you in ``language`` (the default language's where untranslated)."""
    default = str(getattr(survey, field))
    return str(_translation(survey, language).get(field) or default)


def question_text(survey: Survey, question: Question, language: str) -> QuestionText:
    own = dict(_translation(survey, language).get("questions", {}).get(question.key, {}))
    choices = question.choices or []
    labels = own.get("choices") or choices
    return QuestionText(
        prompt=own.get("prompt") or question.prompt,
        low_label=own.get("low_label") or question.low_label,
        high_label=own.get("high_label") or question.high_label,
        choice_labels=dict(zip(choices, labels, strict=True)),
    )


def saved_answers(survey: Survey, response: Response) -> dict[str, str]:
    """A partial response's answers as form values, by question key."""
    keys = {q.id: q.key for q in survey.questions}
    values: dict[str, str] = {}
    for answer in response.answers:
        value = answer.score if answer.score is not None else answer.choice or answer.text
        if value is not None and answer.question_id in keys:
            values[keys[answer.question_id]] = str(value)
    return values


def clicked_scores(survey: Survey, query: Mapping[str, str]) -> dict[str, str]:
    """The valid scores a link carries (``?nps=9``), by question key: what the page offers to save."""
    scores: dict[str, str] = {}
    for q in survey.questions:
        value = query.get(q.key, "").strip()
        if q.kind in SCALES and value.isdigit():
            low, high = SCALES[QuestionKind(q.kind)]
            if low <= int(value) <= high:
                scores[q.key] = str(int(value))
    return scores


def unhappy(survey: Survey, values: Mapping[str, str]) -> bool:
    """Whether the first scored answer says the customer is dissatisfied: in its scale's low band, by the
    survey's own bands, else the company's (by default NPS 0-6, CSAT 1-2, CES 1-3)."""
    own = {scale: Bands.of_pair(scale, pair) for scale, pair in (survey.bands or {}).items()}
    cutoffs = get_settings().cutoffs.with_surveys({survey.id: own})
    for q in survey.questions:
        if q.kind in SCALES and values.get(q.key, "").isdigit():
            return cutoffs.band(q.kind, int(values[q.key]), survey.id) == "low"
    return False
