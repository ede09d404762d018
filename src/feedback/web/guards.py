"""Refuse text with a NUL character, and JSON nested too deeply, before a handler sees it.

PostgreSQL cannot store NUL (``\\u0000``) in text, SQLite would store it silently, and no name, answer or
filter legitimately contains one: such input gets a 422 naming the field, the same on both databases.
Checked: every query and path parameter, and JSON bodies sent to /api/.

No body the API takes nests deeper than a few levels; one nested ~1,000 levels deep would exhaust the JSON
decoder's recursion (a 500) or whatever walks it later (pickling, hashing). A body nested deeper than
MAX_JSON_DEPTH is a 400 before it is decoded.
"""

import re
from collections import deque
from contextlib import suppress
from typing import Any

import msgspec
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.handlers import BaseRouteHandler
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from feedback.errors import FeedbackError, FieldError, InvalidInput
from feedback.web.strict import strict_json_bodies

NUL = "\x00"
MESSAGE = "must not contain a NUL character (\\u0000)"
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_ERRORS = 20
MAX_JSON_DEPTH = 32
_JSON_STRING = re.compile(rb'"(?:[^"\\\\]|\\\\.)*"')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def _shown(name: str) -> str:
    return name.replace(NUL, "\\u0000")


def nul_fields(value: Any) -> list[FieldError]:
    """Where a decoded JSON value holds a NUL character, as fields like ``invitations[3].email``."""
    errors: list[FieldError] = []
    queue: deque[tuple[str, Any]] = deque([("", value)])
    while queue and len(errors) < MAX_ERRORS:
        path, item = queue.popleft()
        if isinstance(item, str):
            if NUL in item:
                errors.append(FieldError(path or "body", MESSAGE))
        elif isinstance(item, dict):
            for key, child in item.items():
                name = f"{path}.{_shown(key)}" if path else _shown(key)
                if NUL in key:
                    errors.append(FieldError(name, "a key " + MESSAGE))
                queue.append((name, child))
        elif isinstance(item, list):
            queue.extend((f"{path}[{i}]", child) for i, child in enumerate(item))
    return errors


async def reject_nul_characters(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """A guard for the whole app: query and path parameters everywhere, JSON bodies under /api/."""
    errors = [
        FieldError(_shown(name), MESSAGE)
        for name, value in connection.query_params.multi_items()
        if NUL in name or NUL in value
    ]
    errors += [
        FieldError(name, MESSAGE)
        for name, value in connection.path_params.items()
        if isinstance(value, str) and NUL in value
    ]
    if (
        isinstance(connection, Request)
        and connection.method in BODY_METHODS
        and connection.url.path.startswith("/api/")
    ):
        body = await connection.body()
        if b"\\u0000" in body:  # JSON can only carry NUL escaped; a cheap test before decoding
            with suppress(msgspec.DecodeError):  # not JSON: the handler answers with its own 400
                errors += nul_fields(msgspec.json.decode(body))
    if errors:
        raise InvalidInput.of(errors[:MAX_ERRORS])


def json_depth_exceeds(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether brackets in ``body`` (outside its strings) nest deeper than ``limit``. Cheap for the usual
    body: one with fewer opening brackets than the limit cannot nest that deep, and is not scanned."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    depth = 0
    for bracket in _JSON_STRING.sub(b"", body).translate(None, _NOT_BRACKETS):
        depth += 1 if bracket in b"[{" else -1
        if depth > limit:
            return True
    return False


async def reject_deep_json(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """A guard for the whole app: a JSON body under /api/ nested deeper than MAX_JSON_DEPTH is a 400."""
    if (
        isinstance(connection, Request)
        and connection.method in BODY_METHODS
        and connection.url.path.startswith("/api/")
        and json_depth_exceeds(await connection.body())
    ):
        raise FeedbackError(
            f"the JSON body nests deeper than {MAX_JSON_DEPTH} levels; no request here needs that",
            [FieldError("body", f"nested deeper than {MAX_JSON_DEPTH} levels")],
        )


async def check_input(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Every check above, then strict JSON bodies."""
    await reject_deep_json(connection, handler)
    await reject_nul_characters(connection, handler)
    await strict_json_bodies(connection, handler)


class InputChecks(ASGIMiddleware):
    """check_input before every HTTP handler. A middleware, not a guard: Litestar copies the route handler
    for each guard it calls (~15 µs, a tenth of a plain request's time in the event loop); the body read
    here is kept for the handler."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        await check_input(Request(scope, receive), scope["route_handler"])
        await next_app(scope, receive, send)
