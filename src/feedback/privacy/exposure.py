"""Who may see customers' personal data, and the redacted view everyone else gets.

The rule: only the ``admin`` role sees personal identifiers (e-mail addresses, customer ids, authors'
handles, post URLs, and inside free text everything analysis/redact.py finds: e-mails, phone numbers,
card numbers, IBANs, IP addresses, social-media profile links and handles). Executives and department
heads read the same rows with those replaced (``[redacted]``, ``[email]``, ``[profile]``, ...): enough to
act on a complaint, not to know who made it. Every API listing and dashboard page, download and export
goes through these functions; digests and alerts quote texts through the same ``redact``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec
import polars as pl

from feedback.accounts.access import Caller
from feedback.analysis.redact import redact
from feedback.models import Role

if TYPE_CHECKING:
    from feedback.dashboards.panels import PanelData

REDACTED = "[redacted]"
PERSONAL_ROLES = (Role.ADMIN,)
_T = TypeVar("_T", bound=msgspec.Struct)


def sees_personal_data(caller: Caller) -> bool:
    return caller.role in PERSONAL_ROLES


def texts(caller: Caller, items: Sequence[_T], *fields: str) -> list[_T]:
    """``items`` with each string field in ``fields`` redacted, unless the caller may see personal data."""
    if sees_personal_data(caller):
        return list(items)
    return [
        msgspec.structs.replace(
            item,
            **{
                name: redact(value) if isinstance(value := getattr(item, name), str) else value
                for name in fields
            },
        )
        for item in items
    ]


def mentions(caller: Caller, items: Sequence[_T]) -> list[_T]:
    """Mentions without author, URL (it often holds the handle) and identifiers in their text."""
    if sees_personal_data(caller):
        return list(items)
    return [
        msgspec.structs.replace(
            m,
            author=REDACTED if getattr(m, "author") is not None else None,  # noqa: B009
            url=None,
            text=redact(getattr(m, "text")),  # noqa: B009
            text_norm=redact(getattr(m, "text_norm")),  # noqa: B009
        )
        for m in items
    ]


def answers(caller: Caller, responses: Sequence[_T]) -> list[_T]:
    """Responses whose text answers and context are redacted, for readers without the right."""
    if sees_personal_data(caller):
        return list(responses)
    return [
        msgspec.structs.replace(
            r,
            answers=texts(caller, getattr(r, "answers"), "value"),  # noqa: B009
            # Context can come from a public link's query string: whatever was typed there too.
            context={
                k: redact(v) if isinstance(v, str) else v
                for k, v in getattr(r, "context").items()  # noqa: B009
            },
        )
        for r in responses
    ]


def quotes(caller: Caller, values: Sequence[str]) -> list[str]:
    return list(values) if sees_personal_data(caller) else [redact(v) for v in values]


def _series(data: pl.DataFrame, name: str, value: Callable[[Any], Any]) -> pl.Series:
    column = data.get_column(name)
    return pl.Series(name, [None if v is None else value(v) for v in column.to_list()], dtype=column.dtype)


def frame(caller: Caller, data: pl.DataFrame) -> pl.DataFrame:
    """A dashboard panel's rows, redacted: authors and URLs hidden, identifiers out of text and verbatims."""
    if sees_personal_data(caller):
        return data
    changed: list[pl.Series] = []
    for name, dtype in data.schema.items():
        if name == "author":
            changed.append(_series(data, name, lambda _: REDACTED))
        elif name in ("url", "email", "customer_id"):
            changed.append(pl.Series(name, [None] * data.height, dtype=dtype))
        elif name in ("text", "text_norm") and dtype == pl.String:
            changed.append(_series(data, name, redact))
        elif name == "verbatims" and isinstance(dtype, pl.List):
            changed.append(_series(data, name, lambda values: [redact(v) for v in values]))
    return data.with_columns(changed) if changed else data


def causes(caller: Caller, items: Sequence[_T]) -> list[_T]:
    """Causes whose verbatims are redacted, for readers without the right."""
    if sees_personal_data(caller):
        return list(items)
    return [
        msgspec.structs.replace(c, verbatims=quotes(caller, getattr(c, "verbatims")))  # noqa: B009
        for c in items
    ]


def cause_detail(caller: Caller, detail: _T) -> _T:
    if sees_personal_data(caller):
        return detail
    return msgspec.structs.replace(
        detail,
        cause=causes(caller, [getattr(detail, "cause")])[0],  # noqa: B009
        examples=quotes(caller, getattr(detail, "examples")),  # noqa: B009
    )


def panels(caller: Caller, data: list[PanelData]) -> list[PanelData]:
    """A dashboard's panels (what pages, downloads and exports show), redacted unless the caller may."""
    if sees_personal_data(caller):
        return data
    return [dataclasses.replace(panel, frame=frame(caller, panel.frame)) for panel in data]


def evidence(caller: Caller, page: _T) -> _T:
    """A cause's comments and mentions: identifiers out of the text, authors and URLs hidden."""
    if sees_personal_data(caller):
        return page
    items = [
        msgspec.structs.replace(
            item,
            text=redact(getattr(item, "text")),  # noqa: B009
            author=REDACTED if getattr(item, "author") is not None else None,  # noqa: B009
            url=None,
        )
        for item in getattr(page, "items")  # noqa: B009
    ]
    return msgspec.structs.replace(page, items=items)
