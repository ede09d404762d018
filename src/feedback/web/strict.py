"""JSON bodies are read as strictly as the OpenAPI schema describes them.

Litestar converts a decoded body to its declared type leniently (``0`` is taken for ``false``, ``"5"`` for
``5``), so the server accepted bodies its own schema forbids. This guard decodes each JSON body under /api/
strictly against the handler's ``data`` type first; a mismatch is a 400 naming the field, as any other.
"""

from typing import Any

import msgspec
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.exceptions import ValidationException
from litestar.handlers import BaseRouteHandler

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def _field(message: str) -> tuple[str, str]:
    """msgspec's "Expected `int`, got `str` - at `$.a[0]`" as ("a[0]", "Expected `int`, got `str`")."""
    text, _, where = message.partition(" - at `$")
    return where.rstrip("`").lstrip("."), text


async def strict_json_bodies(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    if not (
        isinstance(connection, Request)
        and connection.method in BODY_METHODS
        and connection.url.path.startswith("/api/")
    ):
        return
    data = handler.parsed_fn_signature.parameters.get("data")
    body = await connection.body()
    if data is None or not body or "json" not in connection.headers.get("content-type", "json"):
        return
    try:
        decoded = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return  # not JSON: the handler answers with its own 400
    try:
        msgspec.convert(_whole_numbers(decoded), data.annotation, strict=True)
    except msgspec.ValidationError as error:
        key, message = _field(str(error))
        raise ValidationException("invalid request body", extra=[{"key": key, "message": message}]) from None


def _whole_numbers(value: Any) -> Any:
    """JSON's 3.0 is the integer 3 (as JSON Schema says); msgspec's strict mode would refuse it for an int."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _whole_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_whole_numbers(v) for v in value]
    return value
