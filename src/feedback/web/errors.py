"""One place that turns errors into HTTP answers: JSON for the API, a page for people."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

import msgspec
from litestar import Litestar, MediaType, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.response import Redirect, Template
from litestar.routes import HTTPRoute
from litestar.types import Message, Scope
from sqlalchemy.exc import OperationalError

from feedback.errors import FeedbackError, FieldError, TooManyRequests
from feedback.specs import explain
from feedback.web.auth import LoginRequired
from feedback.web.limits import body_too_large
from feedback.web.state import AnyRequest

log = logging.getLogger(__name__)


class FieldErrorOut(msgspec.Struct):
    field: str
    message: str


class ErrorOut(msgspec.Struct):
    status_code: int
    detail: str
    errors: list[FieldErrorOut] = []


class InternalErrorOut(ErrorOut):
    """A 500: ``request_id`` finds its traceback in the log."""

    request_id: str = ""


def _wants_html(request: AnyRequest) -> bool:
    return not request.url.path.startswith(("/api/", "/schema")) and "text/html" in request.headers.get(
        "accept", ""
    )


def _answer(
    request: AnyRequest,
    status: int,
    detail: str,
    errors: list[FieldError],
    headers: dict[str, str] | None = None,
) -> Response[Any]:
    headers = {"Retry-After": "5"} if status == 503 else headers
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
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, TooManyRequests) else None
    return _answer(request, exc.status_code, exc.message, exc.errors, headers)


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
    if exc.status_code == 413:
        return _answer(request, 413, body_too_large(request), [])
    if exc.status_code >= 500 and exc.status_code != 503:
        return unexpected_error(request, exc)
    # The exception's headers travel with it: a 405 names the methods the path allows (Allow, RFC 9110).
    return _answer(request, exc.status_code, str(exc.detail), [], exc.headers)


def unexpected_error(request: AnyRequest, exc: Exception) -> Response[Any]:
    """A bug: logged with its traceback under a request id, which the 500 answer carries too."""
    request_id = uuid.uuid4().hex[:16]
    log.error(
        "unexpected error in %s %s (request id %s)",
        request.method,
        request.url.path,
        request_id,
        exc_info=exc,
    )
    detail = f"an unexpected error happened; it was logged with request id {request_id}"
    headers = {"X-Request-Id": request_id}
    if _wants_html(request):
        return _answer(request, 500, detail, [], headers)
    body = InternalErrorOut(500, detail, [], request_id)
    return Response(body, status_code=500, media_type=MediaType.JSON, headers=headers)


def database_down(request: AnyRequest, exc: OperationalError) -> Response[Any]:
    log.warning("database unavailable: %s", exc.orig)
    return _answer(request, 503, "the database is unavailable; retry shortly", [])


def login_required(request: AnyRequest, exc: LoginRequired) -> Response[Any]:
    return Redirect(f"/login?{urlencode({'next': exc.next_path})}", status_code=303)


EXCEPTION_HANDLERS = {
    LoginRequired: login_required,
    FeedbackError: feedback_error,
    ValidationException: validation_error,
    HTTPException: http_error,
    OperationalError: database_down,
    Exception: unexpected_error,
}


# Every error the API can answer with, in the one shape above (rate limits and body limits included).
ERROR_STATUSES = {
    400: "Malformed request: a parameter or body that does not fit its declared type",
    401: "No API token, or an unknown or revoked one",
    403: "The token's role may not do this",
    404: "No such survey, department, cause or other resource",
    409: "Already answered, or a duplicate",
    410: "The survey is closed or the invitation expired",
    413: "The request body is too large",
    422: "Input that breaks a rule; errors name each field",
    429: "Too many requests; retry later",
    503: "The database or the response writer is unavailable; retry shortly",
}


def document_errors(app: Litestar) -> None:
    """Declare the error answers in the OpenAPI schema of every /api operation, once for all of them."""
    specs = {
        status: ResponseSpec(ErrorOut, description=text, generate_examples=False)
        for status, text in ERROR_STATUSES.items()
    }
    for route in app.routes:
        if isinstance(route, HTTPRoute) and route.path.startswith("/api/"):
            for handler in route.route_handlers:
                handler.responses = {**specs, **(handler.responses or {})}


def allowed_methods(app: Litestar) -> Callable[[Message, Scope], Awaitable[None]]:
    """A ``before_send`` hook: an OPTIONS answer's ``Allow`` lists every method of its path.

    Litestar builds the automatic OPTIONS answer from the first handler registered for a path, so
    ``/api/causes`` answered ``Allow: OPTIONS, POST`` while it serves GET as well; 405s were right.
    """
    methods: dict[str, set[str]] = {}
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            methods.setdefault(route.path_format, set()).update(route.methods)
    allow = {path: ", ".join(sorted(found)).encode() for path, found in methods.items()}

    async def before_send(message: Message, scope: Scope) -> None:
        if scope.get("method") == "OPTIONS" and message["type"] == "http.response.start":
            value = allow.get(scope.get("path_template", ""))
            if value is not None:
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"allow"]
                message["headers"] = [*headers, (b"allow", value)]

    return before_send
