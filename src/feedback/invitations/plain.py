"""Plainly valid invitation rows, and their cleaned values: a row at a time, or a block's columns at once.

Most rows of an import need no message: every value is blank or well formed. These functions find them and
clean them as the full checks (service._clean_recipient and responses.context.parse_context) would; any
row they are not sure of is left to those checks, which name what is wrong. Values come out in the order
of ``PLAIN_VALUES``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import polars as pl

from feedback.i18n import LANGUAGE_TAG
from feedback.models.context import CONTEXT, CONTEXT_FIELDS
from feedback.responses.context import FALSE_WORDS, TRUE_WORDS, parse_field

EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
RECIPIENT_CHARS = 200
PLAIN_VALUES = ("email", "customer_id", "interaction_id", "language", *CONTEXT_FIELDS)

PlainValues = tuple[Any, ...]


def language(value: Any) -> str | None:
    """A valid language tag (``pt``, ``pt-BR``), else None."""
    text = value.strip() if isinstance(value, str) else ""
    return text if len(text) <= 16 and LANGUAGE_TAG.match(text) else None


def plain_row(
    row: Mapping[str, Any], departments: Mapping[str, int], default_department: int
) -> PlainValues | None:
    """A plainly valid row's values; None when anything needs a closer look."""
    get = row.get
    recipient: list[str | None] = []
    for name in ("email", "customer_id", "interaction_id"):
        value = get(name)
        if value is None:
            recipient.append(None)
            continue
        if type(value) is not str or len(value := value.strip()) > RECIPIENT_CHARS:
            return None
        recipient.append(value or None)
    email, customer_id, interaction_id = recipient
    if (email is None and customer_id is None) or (email is not None and not EMAIL.match(email)):
        return None
    expiry = get("expires_at")
    if expiry is not None and (type(expiry) is not str or expiry.strip()):
        return None
    tag = get("language")
    if tag is not None and (type(tag) is not str or (tag.strip() and not language(tag))):
        return None
    context: dict[str, Any] = dict.fromkeys(CONTEXT_FIELDS)
    context["department_id"] = default_department
    for spec in CONTEXT:
        value = get(spec.name)
        if spec.kind != "text":
            try:
                context[spec.name] = parse_field(spec, value)
            except ValueError:
                return None
        elif value is not None:
            if type(value) is not str or len(value := value.strip()) > spec.max_chars:
                return None
            context[spec.name] = value or None
    department = get("department")
    if department is not None and (slug := str(department).strip()):
        if slug not in departments:
            return None
        context["department_id"] = departments[slug]
    return (email, customer_id, interaction_id, language(tag), *context.values())


def plain_block(table: pl.DataFrame, departments: Mapping[str, int], default_department: int) -> pl.DataFrame:
    """For each row of a block of text columns (reading.RowBlock): ``plain`` (is it plainly valid?), then
    its values as plain_row gives them, a column each (meaningless where ``plain`` is false)."""
    present = set(table.columns)
    ok: list[pl.Expr] = []

    def stripped(name: str) -> pl.Expr:
        return pl.col(name).str.strip_chars() if name in present else pl.lit(None, pl.String)

    def text(name: str, max_chars: int) -> pl.Expr:
        value = stripped(name)
        ok.append(value.is_null() | (value.str.len_chars() <= max_chars))
        return pl.when(value != "").then(value)

    email, customer_id = text("email", RECIPIENT_CHARS), text("customer_id", RECIPIENT_CHARS)
    ok.append(email.is_not_null() | customer_id.is_not_null())
    ok.append(email.is_null() | email.str.contains(EMAIL.pattern))
    ok.append(stripped("expires_at").fill_null("") == "")
    tag = stripped("language").fill_null("")
    ok.append((tag == "") | ((tag.str.len_chars() <= 16) & tag.str.contains(LANGUAGE_TAG.pattern)))
    slug = stripped("department").fill_null("")
    department = slug.replace_strict(dict(departments), default=None, return_dtype=pl.Int64)
    ok.append((slug == "") | department.is_not_null())
    values = {
        "email": email,
        "customer_id": customer_id,
        "interaction_id": text("interaction_id", RECIPIENT_CHARS),
        "language": pl.when(tag != "").then(tag),
        "department_id": pl.when(slug == "").then(pl.lit(default_department, pl.Int64)).otherwise(department),
        "context_fields": pl.lit(None),
    }
    for spec in CONTEXT:
        if spec.kind == "text":
            values[spec.name] = text(spec.name, spec.max_chars)
            continue
        raw = pl.col(spec.name) if spec.name in present else pl.lit(None, pl.String)
        blank = raw.str.strip_chars().fill_null("") == ""
        if spec.kind == "seconds":  # digits only, as parse_seconds' usual case; the rest gets its checks
            digits = raw.str.contains(r"^[0-9]{1,7}$")
            ok.append(blank | digits)
            values[spec.name] = pl.when(digits).then(raw.str.to_integer(strict=False))
        else:
            word = raw.str.strip_chars().str.to_lowercase()
            ok.append(blank | word.is_in(list(TRUE_WORDS)) | word.is_in(list(FALSE_WORDS)))
            values[spec.name] = (
                pl.when(word.is_in(list(TRUE_WORDS)))
                .then(True)
                .when(word.is_in(list(FALSE_WORDS)))
                .then(False)
            )
    return table.select(
        pl.all_horizontal(ok).fill_null(False).alias("plain"),
        *(values[name].alias(name) for name in PLAIN_VALUES),
    )
