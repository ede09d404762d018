"""Parsing the context of an interaction (channel, department, product...) from CSV, forms or JSON."""

from __future__ import annotations

import functools
import itertools
import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from feedback.config import context_fields_file
from feedback.errors import FieldError, InvalidInput
from feedback.models.context import CONTEXT, ContextField

# What callers send: the department by its slug, then every field of models/context.py's CONTEXT.
CONTEXT_INPUT_FIELDS = ("department", *(f.name for f in CONTEXT))
TRUE_WORDS = frozenset({"1", "true", "yes", "y", "t"})  # what parse_bool reads as yes (lower case)
FALSE_WORDS = frozenset({"0", "false", "no", "n", "f"})


def parse_bool(value: Any) -> bool | None:
    """True/False from JSON booleans or yes/no/true/false/1/0 text; None if blank; ValueError otherwise."""
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if not text:
        return None
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise ValueError("expected yes or no (also true/false, 1/0)")


def parse_seconds(value: Any) -> int | None:
    """A non-negative whole number of seconds from an int or its text; None if blank."""
    if type(value) is str and value.isascii() and value.isdigit() and len(value) < 8:
        return int(value)  # the usual case (a CSV cell of digits), before the checks for the others
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


@dataclass(frozen=True)
class CompanyField:
    """A context field the company declared: a number (days late, order value) or a category (plan)."""

    name: str
    kind: Literal["numeric", "categorical"]
    bands: tuple[float, ...] = ()  # numeric: band edges for metrics' by= and filters (upper bounds included)

    @property
    def band_names(self) -> list[str]:
        """The bands' names (``<= 0``, ``0-3``, ``> 3``), or none when no edges are declared."""
        from feedback.analysis.outcomes import band_labels  # Polars and statsmodels, only when needed

        return band_labels(self.bands) if self.bands else []


COMPANY_TEXT_CHARS = 128  # a company-defined category's longest value
_FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def _edges(value: Any) -> tuple[float, ...] | None:
    """Strictly increasing numbers, or None."""
    if not isinstance(value, list) or not value:
        return None
    if not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in value):
        return None
    edges = tuple(float(v) for v in value)
    return edges if all(a < b for a, b in itertools.pairwise(edges)) else None


def load_company_fields(path: str) -> tuple[CompanyField, ...]:
    """The fields declared in a TOML file: ``[[fields]]`` with ``name``, ``type`` (numeric|categorical) and,
    for a numeric field, optional ``bands`` (increasing edges, e.g. ``[0, 3, 7]``)."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InvalidInput.on(path, f"cannot read the context fields: {exc}") from None
    fields: list[CompanyField] = []
    errors: list[FieldError] = []
    builtin = {
        *CONTEXT_INPUT_FIELDS,
        "email",
        "customer_id",
        "interaction_id",
        "expires_at",
        "survey",
        "source",
    }
    for i, item in enumerate(data.get("fields", [])):
        name, kind = item.get("name"), item.get("type")
        if not isinstance(name, str) or not _FIELD_NAME.match(name) or name in builtin:
            errors.append(FieldError(f"{path}: fields[{i}].name", "a new lowercase name (a-z, 0-9, _)"))
        elif kind not in ("numeric", "categorical"):
            errors.append(FieldError(f"{path}: fields[{i}].type", "numeric or categorical"))
        elif name in {f.name for f in fields}:
            errors.append(FieldError(f"{path}: fields[{i}].name", f"{name!r} is declared twice"))
        elif "bands" in item and (kind != "numeric" or _edges(item["bands"]) is None):
            errors.append(FieldError(f"{path}: fields[{i}].bands", "increasing numbers, for a numeric field"))
        else:
            fields.append(CompanyField(name, kind, _edges(item.get("bands")) or ()))
    if errors:
        raise InvalidInput.of(errors)
    return tuple(fields)


@functools.cache
def _company_fields(path: str) -> tuple[CompanyField, ...]:
    return load_company_fields(path) if path else ()


def company_fields() -> tuple[CompanyField, ...]:
    """The fields declared in FEEDBACK_CONTEXT_FIELDS_FILE (none when it is unset)."""
    return _company_fields(context_fields_file())


def parse_company_fields(
    raw: Mapping[str, Any], fields: tuple[CompanyField, ...], prefix: str = ""
) -> tuple[dict[str, Any], list[FieldError]]:
    """The declared fields found in ``raw``: numbers as floats, categories as text; blanks left out."""
    values: dict[str, Any] = {}
    errors: list[FieldError] = []
    for item in fields:
        value = raw.get(item.name)
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        if item.kind == "categorical":
            text = str(value).strip()
            if len(text) > COMPANY_TEXT_CHARS:
                errors.append(FieldError(prefix + item.name, f"longer than {COMPANY_TEXT_CHARS} characters"))
            else:
                values[item.name] = text
            continue
        try:
            number = float(value) if not isinstance(value, bool) else math.nan
        except (TypeError, ValueError):
            number = math.nan
        if not math.isfinite(number):
            errors.append(FieldError(prefix + item.name, "expected a number such as 3 or 12.5"))
        else:
            values[item.name] = number
    return values, errors


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
    custom, custom_errors = parse_company_fields(raw, company_fields(), prefix)
    errors.extend(custom_errors)
    if custom:
        values["context_fields"] = custom
    return values, errors
