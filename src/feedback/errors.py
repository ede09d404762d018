"""The project's errors. Each carries its HTTP status; the web layer has one handler for all.

FeedbackError                 base; status 400
 +-- InvalidInput             422; one message per offending field
 +-- Unauthorized             401; no or unknown credentials
 +-- Forbidden                403; credentials that may not do this
 +-- NotFound                 404; unknown survey, token, department...
 +-- Conflict                 409; already answered, duplicate, idempotency key reused
 |    +-- InvitationAlreadyAnswered
 +-- Gone                     410; closed survey, expired invitation
 |    +-- SurveyClosed, InvitationExpired
 +-- TooLarge                 413; a request body or an imported file above its limit
 +-- TooManyRequests          429; a rate limit reached; carries the seconds to wait (Retry-After)
 +-- ServiceUnavailable       503; the database cannot be reached right now
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class FieldError:
    """What is wrong (message) and where (field: a dotted path, or a line number for files)."""

    field: str
    message: str


class FeedbackError(Exception):
    status_code = 400

    def __init__(self, message: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or []


class InvalidInput(FeedbackError):
    status_code = 422

    @classmethod
    def on(cls, field: str, message: str) -> InvalidInput:
        return cls(f"{field}: {message}", [FieldError(field, message)])

    @classmethod
    def of(cls, errors: list[FieldError]) -> InvalidInput:
        summary = "; ".join(f"{e.field}: {e.message}" for e in errors[:5])
        return cls(summary, errors)


class Unauthorized(FeedbackError):
    status_code = 401


class Forbidden(FeedbackError):
    status_code = 403


class NotFound(FeedbackError):
    status_code = 404


class Conflict(FeedbackError):
    status_code = 409


class Gone(FeedbackError):
    status_code = 410


# The rules of answering, named (each answered like its base class by the one error handler). Built with
# their classmethods; constructed from the message alone, they cross the writer's process boundary (pickle).


class SurveyClosed(Gone):
    """The survey is closed and takes no more responses."""

    @classmethod
    def of(cls, slug: str) -> SurveyClosed:
        return cls(f"survey {slug!r} is closed and takes no more responses")


class InvitationExpired(Gone):
    """The invitation's link expired."""

    @classmethod
    def at(cls, expires_at: datetime) -> InvitationExpired:
        return cls(f"this invitation expired on {expires_at:%Y-%m-%d %H:%M} UTC")


class InvitationAlreadyAnswered(Conflict):
    """One response per invitation: this one was answered before."""

    @classmethod
    def new(cls) -> InvitationAlreadyAnswered:
        return cls("this invitation was already answered; one response per invitation")


class TooLarge(FeedbackError):
    status_code = 413


class TooManyRequests(FeedbackError):
    status_code = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ServiceUnavailable(FeedbackError):
    status_code = 503
