"""Converting untrusted mappings (TOML, JSON, form data) into typed specs, with field-level errors."""

from __future__ import annotations

import re
from typing import Annotated, Any, TypeVar, get_args, get_origin

import msgspec
import msgspec.structs

from feedback.errors import FieldError, InvalidInput

T = TypeVar("T")

_PATH = re.compile(r" - at `\$(?P<path>[^`]*)`$")


_UNKNOWN = re.compile(r"^Object contains unknown field `(?P<name>[^`]*)`$")
_REGEX = re.compile(r"^Expected `str` matching regex '(?P<pattern>.*)'$")
PATTERN_HINTS = {
    r"^[a-z0-9][a-z0-9_-]{0,63}$": (
        "lowercase letters, digits, '-' or '_', at most 64, e.g. 'customer-support'"
    ),
    r"^[a-z][a-z0-9_]{0,63}$": "a lowercase identifier: letters, digits and '_', starting with a letter",
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
