"""Parsing the context of an interaction (channel, department, product...) from CSV, forms or JSON."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from feedback.errors import FieldError
from feedback.models.context import CONTEXT, ContextField

# What callers send: the department by its slug, then every field of models/context.py's CONTEXT.
CONTEXT_INPUT_FIELDS = ("department", *(f.name for f in CONTEXT))
_TRUE = {"1", "true", "yes", "y", "t"}
_FALSE = {"0", "false", "no", "n", "f"}


def parse_bool(value: Any) -> bool | None:
    """True/False from JSON booleans or yes/no/true/false/1/0 text; None if blank; ValueError otherwise."""
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if not text:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError("expected yes or no (also true/false, 1/0)")


def parse_seconds(value: Any) -> int | None:
    """A non-negative whole number of seconds from an int or its text; None if blank."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError("expected a whole number of seconds")
    try:
        number = int(value) if isinstance(value, int) else int(str(value).strip())
    except ValueError:
        raise ValueError("expected a whole number of seconds") from None
    if number < 0 or number > 10_000_000:
        raise ValueError("expected seconds between 0 and 10000000")
    return number


def parse_text(value: Any, max_chars: int) -> str | None:
    """Text without surrounding blanks; None if blank; ValueError if longer than ``max_chars``."""
    if value is None:
        return None
    text = str(value).strip()
    if len(text) > max_chars:
        raise ValueError(f"longer than {max_chars} characters")
    return text or None


def parse_field(spec: ContextField, value: Any) -> Any:
    """One context field's value, by its kind (ValueError with a message for the caller)."""
    if spec.kind == "seconds":
        return parse_seconds(value)
    if spec.kind == "flag":
        return parse_bool(value)
    return parse_text(value, spec.max_chars)


def parse_context(
    raw: Mapping[str, Any], departments: Mapping[str, int], prefix: str = ""
) -> tuple[dict[str, Any], list[FieldError]]:
    """Column values for InteractionContext, and the errors found (field names carry ``prefix``)."""
    values: dict[str, Any] = {}
    errors: list[FieldError] = []
    for spec in CONTEXT:
        try:
            value = parse_field(spec, raw.get(spec.name))
        except ValueError as exc:
            errors.append(FieldError(prefix + spec.name, str(exc)))
            continue
        if value is not None or spec.kind != "text":
            values[spec.name] = value
    department = raw.get("department")
    if department is not None and str(department).strip():
        slug = str(department).strip()
        if slug in departments:
            values["department_id"] = departments[slug]
        else:
            errors.append(FieldError(prefix + "department", f"unknown department {slug!r}"))
    return values, errors
