"""One place that turns errors into HTTP answers: JSON for the API, a page for people."""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from litestar import MediaType, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.response import Template
from sqlalchemy.exc import OperationalError

from feedback.errors import FeedbackError, FieldError
from feedback.services.specs import explain
from feedback.web.state import AnyRequest

log = logging.getLogger(__name__)


class FieldErrorOut(msgspec.Struct):
    field: str
    message: str


class ErrorOut(msgspec.Struct):
    status_code: int
    detail: str
    errors: list[FieldErrorOut] = []


def _wants_html(request: AnyRequest) -> bool:
    return not request.url.path.startswith(("/api/", "/schema")) and "text/html" in request.headers.get(
        "accept", ""
    )


def _answer(request: AnyRequest, status: int, detail: str,
            errors: list[FieldError]) -> Response[Any]:
    headers = {"Retry-After": "5"} if status == 503 else None
    if _wants_html(request):
        return Template(
            template_name="message.html",
            context={"title": "Sorry", "message": detail},
            status_code=status,
            headers=headers,
        )
    body = ErrorOut(status, detail, [FieldErrorOut(e.field, e.message) for e in errors])
    return Response(body, status_code=status, media_type=MediaType.JSON, headers=headers)


def feedback_error(request: AnyRequest, exc: FeedbackError) -> Response[Any]:
    return _answer(request, exc.status_code, exc.message, exc.errors)


def _key(item: dict[str, object]) -> str:
    key = str(item.get("key") or "")
    return "" if key == "data" else key


def validation_error(request: AnyRequest, exc: ValidationException) -> Response[Any]:
    errors = [
        FieldError(*explain(_key(item), str(item.get("message", ""))))
        for item in (exc.extra if isinstance(exc.extra, list) else [])
        if isinstance(item, dict)
    ]
    detail = "; ".join(f"{e.field}: {e.message}" for e in errors) or str(exc.detail)
    return _answer(request, 400, detail, errors)


def http_error(request: AnyRequest, exc: HTTPException) -> Response[Any]:
    return _answer(request, exc.status_code, str(exc.detail), [])


def database_down(request: AnyRequest, exc: OperationalError) -> Response[Any]:
    log.warning("database unavailable: %s", exc.orig)
    return _answer(request, 503, "the database is unavailable; retry shortly", [])


EXCEPTION_HANDLERS = {
    FeedbackError: feedback_error,
    ValidationException: validation_error,
    HTTPException: http_error,
    OperationalError: database_down,
}
