"""Converting untrusted mappings (TOML, JSON, form data) into typed specs, with field-level errors."""

from __future__ import annotations

import re
from typing import Any, TypeVar

import msgspec

from feedback.errors import FieldError, InvalidInput

T = TypeVar("T")

_PATH = re.compile(r" - at `\$(?P<path>[^`]*)`$")


def _field_path(message: str, prefix: str) -> tuple[str, str]:
    match = _PATH.search(message)
    path = match.group("path").lstrip(".") if match else ""
    text = _PATH.sub("", message)
    full = ".".join(p for p in (prefix, path) if p).replace(".[", "[")
    return full or "body", text


def convert(data: Any, into: type[T], prefix: str = "") -> T:
    """Convert ``data`` into ``into`` or raise InvalidInput naming the offending field."""
    try:
        return msgspec.convert(data, into, strict=False)
    except msgspec.ValidationError as exc:
        field, message = _field_path(str(exc), prefix)
        raise InvalidInput.of([FieldError(field, message)]) from exc
