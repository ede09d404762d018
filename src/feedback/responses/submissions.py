"""What a customer submits, and checking it against the survey: pure functions, no database."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from feedback.errors import FieldError
from feedback.models import SCALES, QuestionKind, Survey


@dataclass(frozen=True)
class QuestionDef:
    id: int
    key: str
    kind: QuestionKind
    required: bool
    choices: tuple[str, ...]
    max_length: int | None


@dataclass(frozen=True)
class SurveyDef:
    """An immutable snapshot of a survey, safe to cache and share between threads."""

    id: int
    slug: str
    status: str
    department_id: int
    public_key: str | None
    updated_at: datetime
    questions: tuple[QuestionDef, ...]

    @classmethod
    def of(cls, survey: Survey) -> SurveyDef:
        return cls(
            id=survey.id,
            slug=survey.slug,
            status=survey.status,
            department_id=survey.department_id,
            public_key=survey.public_key,
            updated_at=survey.updated_at,
            questions=tuple(
                QuestionDef(
                    q.id, q.key, QuestionKind(q.kind), q.required, tuple(q.choices or ()), q.max_length
                )
                for q in survey.questions
            ),
        )


# What any question can take: a score is a number (or its digits), a choice and a text are text.
ANSWER_TYPES = (str, int, float, bool, type(None))


@dataclass(frozen=True)
class CleanAnswer:
    question: QuestionDef
    score: int | None = None
    choice: str | None = None
    text: str | None = None


@dataclass
class Submission:
    """One customer's answers, as received. Exactly one of survey_slug/public_key/token locates the survey
    (an API call names the slug and may add a token)."""

    answers: Mapping[str, Any]
    via: str  # web, api, email
    submitted_at: datetime
    survey_slug: str | None = None
    public_key: str | None = None
    token: str | None = None
    context: Mapping[str, Any] = field(default_factory=dict)
    idempotency_key: str | None = None
    partial: bool = False  # only the score clicked in an e-mail: nothing required yet; Send completes it
    language: str | None = None  # the language the survey was shown in

    def shape_errors(self) -> list[FieldError]:
        """One error per answer or context value that no question takes: a list or an object (of any
        depth). Checked before a submission is queued, so nothing nested ever reaches the writer."""
        return [
            FieldError(f"{prefix}{key}", "expected a number or a text, not a list or an object")
            for prefix, values in (("answers.", self.answers), ("context.", self.context))
            for key, value in values.items()
            if not isinstance(value, ANSWER_TYPES)
        ]

    def request_hash(self) -> str:
        """A fingerprint of what was asked, to tell a true retry from a reused idempotency key."""
        body = json.dumps(
            {"answers": self.answers, "context": self.context, "token": self.token},
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(body.encode()).hexdigest()


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _score(question: QuestionDef, value: Any) -> int:
    low, high = SCALES[question.kind]
    message = f"expected a whole number from {low} to {high}"
    if isinstance(value, bool):
        raise ValueError(message)
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and value.strip().lstrip("-").isdigit():
        number = int(value.strip())
    else:
        raise ValueError(message)
    if not low <= number <= high:
        raise ValueError(message)
    return number


def validate_answers(
    survey: SurveyDef, answers: Mapping[str, Any], max_text_chars: int, prefix: str = "answers."
) -> tuple[list[CleanAnswer], list[FieldError]]:
    """Clean answers in question order, and one error per offending question or unknown key."""
    errors: list[FieldError] = []
    known = {q.key for q in survey.questions}
    for key in answers:
        if key not in known:
            errors.append(FieldError(prefix + str(key), "this survey has no such question"))
    clean: list[CleanAnswer] = []
    for q in survey.questions:
        value = answers.get(q.key)
        where = prefix + q.key
        if _blank(value):
            if q.required:
                errors.append(FieldError(where, "an answer is required"))
            continue
        try:
            if q.kind in SCALES:
                clean.append(CleanAnswer(q, score=_score(q, value)))
            elif q.kind == QuestionKind.CHOICE:
                if not isinstance(value, str) or value not in q.choices:
                    raise ValueError("expected one of: " + ", ".join(q.choices))
                clean.append(CleanAnswer(q, choice=value))
            else:
                if not isinstance(value, str):
                    raise ValueError("expected text")
                limit = min(q.max_length or max_text_chars, max_text_chars)
                text = value.strip().replace("\x00", "")
                if len(text) > limit:
                    raise ValueError(f"at most {limit} characters, got {len(text)}")
                clean.append(CleanAnswer(q, text=text))
        except ValueError as exc:
            errors.append(FieldError(where, str(exc)))
    return clean, errors
