"""Checking one outcome event or identity-map row, from a file row or an API item, into a storable row.

An event: ``customer_id``, ``occurred_at`` (ISO 8601, RFC 2822 or Unix seconds; UTC without a zone),
``kind`` (order, renewal, cancellation or any lowercase word), ``amount`` (optional, a number),
``currency`` (optional, three letters) and ``reference`` (optional: the order number...). Its dedup key
is a SHA-256 of the source and reference when there is a reference, else of the whole content.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from feedback.errors import FieldError
from feedback.mentions.prepare import parse_time

EVENT_FIELDS = ("customer_id", "occurred_at", "kind", "amount", "currency", "reference")
EVENT_REQUIRED = ("customer_id", "occurred_at", "kind")
IDENTITY_FIELDS = ("customer_id", "person_id")
KNOWN_KINDS = ("order", "renewal", "cancellation", "refund", "upgrade", "downgrade")
MAX_ID_CHARS = 200
_KIND = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


@dataclass(frozen=True)
class Event:
    dedup_key: str
    source: str
    customer_id: str
    occurred_at: datetime
    kind: str
    amount: float | None
    currency: str | None
    reference: str | None

    def row(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _identifier(raw: Mapping[str, Any], name: str, where: str, errors: list[FieldError]) -> str:
    value = _text(raw.get(name))
    if not value:
        errors.append(FieldError(where + name, "required"))
    elif len(value) > MAX_ID_CHARS:
        errors.append(FieldError(where + name, f"longer than {MAX_ID_CHARS} characters"))
    return value


def parse_amount(value: Any) -> float | None:
    """A finite number (a decimal point, not a comma); None if blank."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError("expected a number such as 49.90")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError("expected a number such as 49.90") from None
    if not math.isfinite(number):
        raise ValueError("expected a finite number")
    return number


def dedup_key(
    source: str, customer_id: str, at: datetime, kind: str, amount: float | None, reference: str | None
) -> str:
    """The same event, however it arrives again, has the same key."""
    if reference:
        text = f"ref\x1f{source}\x1f{reference}"
    else:
        text = f"row\x1f{source}\x1f{customer_id}\x1f{at.isoformat()}\x1f{kind}\x1f{amount!r}"
    return hashlib.sha256(text.encode()).hexdigest()


def parse_event(raw: Mapping[str, Any], source: str, where: str = "") -> Event | list[FieldError]:
    """The event in ``raw`` (our field names), or every problem with it; error fields start with ``where``
    (``"line 12: "`` for a file, ``"events[3]."`` for the API)."""
    errors: list[FieldError] = []
    customer_id = _identifier(raw, "customer_id", where, errors)
    at: datetime | None = None
    if not _text(raw.get("occurred_at")) and not isinstance(raw.get("occurred_at"), datetime):
        errors.append(FieldError(where + "occurred_at", "required"))
    else:
        try:
            at = parse_time(raw.get("occurred_at"))
        except ValueError as exc:
            errors.append(FieldError(where + "occurred_at", str(exc)))
    kind = _text(raw.get("kind")).lower()
    if not kind:
        errors.append(FieldError(where + "kind", "required"))
    elif not _KIND.match(kind):
        errors.append(FieldError(where + "kind", f"expected a word such as {', '.join(KNOWN_KINDS[:3])}"))
    amount: float | None = None
    try:
        amount = parse_amount(raw.get("amount"))
    except ValueError as exc:
        errors.append(FieldError(where + "amount", str(exc)))
    currency = _text(raw.get("currency")).upper() or None
    if currency is not None and not _CURRENCY.match(currency):
        errors.append(FieldError(where + "currency", "expected a three-letter code such as EUR"))
    reference = _text(raw.get("reference")) or None
    if reference is not None and len(reference) > MAX_ID_CHARS:
        errors.append(FieldError(where + "reference", f"longer than {MAX_ID_CHARS} characters"))
    if errors or at is None:
        return errors
    key = dedup_key(source, customer_id, at, kind, amount, reference)
    return Event(key, source, customer_id, at, kind, amount, currency, reference)


def parse_identity(raw: Mapping[str, Any], where: str = "") -> tuple[str, str] | list[FieldError]:
    """(customer_id, person_id) of an identity-map row, or its problems."""
    errors: list[FieldError] = []
    customer_id = _identifier(raw, "customer_id", where, errors)
    person_id = _identifier(raw, "person_id", where, errors)
    return errors if errors else (customer_id, person_id)
