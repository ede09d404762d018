"""Converting untrusted mappings (TOML, JSON, form data) into typed specs, with field-level errors."""

from __future__ import annotations

import re
from typing import Annotated, Any, TypeVar, get_args, get_origin

import msgspec
import msgspec.structs

from feedback.analysis.text import LONG_TEXT_PATTERN, NAME_PATTERN, NO_CONTROL_CHARACTERS
from feedback.errors import FieldError, InvalidInput

T = TypeVar("T")

_PATH = re.compile(r" - at `\$(?P<path>[^`]*)`$")


_UNKNOWN = re.compile(r"^Object contains unknown field `(?P<name>[^`]*)`$")
_REGEX = re.compile(r"^Expected `str` matching regex '(?P<pattern>.*)'$")
_CHOICES = re.compile(r"^\^\(\?:(?P<one>[\w|]+)\)(?:\(\?:,\(\?:(?P=one)\)\)\*)?\$$")  # web/params.py
# An ISO 8601 date, or a date and time (a zone is optional); not a bare number (query parameters).
TIME_PATTERN = (
    r"^\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])"
    r"(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$"
)
PATTERN_HINTS = {
    NAME_PATTERN: NO_CONTROL_CHARACTERS,
    LONG_TEXT_PATTERN: "text without control characters other than tabs and line breaks",
    r"^[a-z0-9][a-z0-9_-]{0,63}$": (
        "lowercase letters, digits, '-' or '_', at most 64, e.g. 'customer-support'"
    ),
    r"^[a-z][a-z0-9_]{0,63}$": "a lowercase identifier: letters, digits and '_', starting with a letter",
    TIME_PATTERN: "an ISO date or time, e.g. 2026-11-01 or 2026-11-01T08:00Z",
}


# Names and titles (no control character), and long free text (tabs and line breaks allowed).
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=NAME_PATTERN)]
Prompt = Annotated[str, msgspec.Meta(min_length=1, max_length=1000, pattern=NAME_PATTERN)]
Label = Annotated[str, msgspec.Meta(max_length=100, pattern=NAME_PATTERN)]
LongText = Annotated[str, msgspec.Meta(max_length=2000, pattern=LONG_TEXT_PATTERN)]


def _field_path(message: str, prefix: str) -> tuple[str, str]:
    match = _PATH.search(message)
    path = match.group("path").lstrip(".") if match else ""
    return explain(path, _PATH.sub("", message), prefix)


def _unescaped(pattern: str) -> str:
    """A pattern as written, from the validator's message (which doubles its backslashes)."""
    return pattern.replace("\\\\", "\\")


def explain(path: str, text: str, prefix: str = "") -> tuple[str, str]:
    """A validator's (path, message) made readable: unknown fields named in the path, patterns in words."""
    if unknown := _UNKNOWN.match(text):
        path, text = f"{path}.{unknown.group('name')}".lstrip("."), "unknown field"
    elif (regex := _REGEX.match(text)) and (
        pattern := regex.group("pattern").replace("\\\\", "\\")
    ) in PATTERN_HINTS:
        text = "expected " + PATTERN_HINTS[pattern]
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


def convert_each(data: Any, into: type[T], prefix: str = "") -> T:
    """Like ``convert``, but a failure names every bad field at once, not only the first: each top-level
    field, and each item of a list of structs, is checked on its own."""
    try:
        return convert(data, into, prefix)
    except InvalidInput as first:
        if not isinstance(data, dict):
            raise
        errors = _each_error(data, into, prefix)
        raise InvalidInput.of(errors or first.errors) from None


def _join(prefix: str, key: object) -> str:
    return f"{prefix}.{key}" if prefix else str(key)


def _each_error(data: dict[Any, Any], into: type[Any], prefix: str) -> list[FieldError]:
    errors: list[FieldError] = []
    fields = {f.encode_name: f for f in msgspec.structs.fields(into)}
    for key, value in data.items():
        where = _join(prefix, key)
        if key not in fields:
            errors.append(FieldError(where, "unknown field"))
            continue
        kind = fields[key].type
        inner = _struct_items(kind)
        if inner is not None and isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, dict):
                    errors.extend(_each_error(item, inner, f"{where}[{i}]"))
        try:
            msgspec.convert(value, kind, strict=False)
        except msgspec.ValidationError as exc:
            if not (inner is not None and errors and errors[-1].field.startswith(f"{where}[")):
                errors.append(FieldError(*_field_path(str(exc), where)))
    for name, f in fields.items():
        if f.required and name not in data:
            errors.append(FieldError(_join(prefix, name), "required"))
    return errors


def _struct_items(kind: Any) -> type[Any] | None:
    """S when ``kind`` is list[S] (possibly Annotated) for a msgspec Struct S."""
    while get_origin(kind) is Annotated:
        kind = get_args(kind)[0]
    if get_origin(kind) is list:
        (item,) = get_args(kind)
        if isinstance(item, type) and issubclass(item, msgspec.Struct):
            return item
    return None
