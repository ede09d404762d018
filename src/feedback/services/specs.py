"""Converting untrusted mappings (TOML, JSON, form data) into typed specs, with field-level errors."""

from __future__ import annotations

import re
from typing import Any, TypeVar

import msgspec

from feedback.errors import FieldError, InvalidInput

T = TypeVar("T")

_PATH = re.compile(r" - at `\$(?P<path>[^`]*)`$")


_UNKNOWN = re.compile(r"^Object contains unknown field `(?P<name>[^`]*)`$")
_REGEX = re.compile(r"^Expected `str` matching regex '(?P<pattern>.*)'$")
_CHOICES = re.compile(r"^\^\(\?:(?P<one>[\w|]+)\)(?:\(\?:,\(\?:(?P=one)\)\)\*)?\$$")  # web/api/params.py
# An ISO 8601 date, or a date and time (a zone is optional); not a bare number (query parameters).
TIME_PATTERN = (
    r"^\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])"
    r"(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$"
)
PATTERN_HINTS = {
    r"^[a-z0-9][a-z0-9_-]{0,63}$": (
        "lowercase letters, digits, '-' or '_', at most 64, e.g. 'customer-support'"
    ),
    r"^[a-z][a-z0-9_]{0,63}$": "a lowercase identifier: letters, digits and '_', starting with a letter",
    TIME_PATTERN: "an ISO date or time, e.g. 2026-11-01 or 2026-11-01T08:00Z",
}


def _field_path(message: str, prefix: str) -> tuple[str, str]:
    match = _PATH.search(message)
    path = match.group("path").lstrip(".") if match else ""
    return explain(path, _PATH.sub("", message), prefix)


def explain(path: str, text: str, prefix: str = "") -> tuple[str, str]:
    """A validator's (path, message) made readable: unknown fields named in the path, patterns in words."""
    if unknown := _UNKNOWN.match(text):
        path, text = f"{path}.{unknown.group('name')}".lstrip("."), "unknown field"
    elif (regex := _REGEX.match(text)) and regex.group("pattern") in PATTERN_HINTS:
        text = "expected " + PATTERN_HINTS[regex.group("pattern")]
    elif regex and (choices := _CHOICES.match(regex.group("pattern"))):
        several = "(?:," in regex.group("pattern")
        text = ("expected a comma-separated list of: " if several else "expected one of: ") + ", ".join(
            choices.group("one").split("|")
        )
    full = ".".join(p for p in (prefix, path) if p).replace(".[", "[")
    return full or "body", text


def convert(data: Any, into: type[T], prefix: str = "") -> T:
    """Convert ``data`` into ``into`` or raise InvalidInput naming the offending field."""
    try:
        return msgspec.convert(data, into, strict=False)
    except msgspec.ValidationError as exc:
        field, message = _field_path(str(exc), prefix)
        raise InvalidInput.of([FieldError(field, message)]) from exc
