"""How a customer is named in an erasure request, and the keyed hash that is all we keep of it."""

from __future__ import annotations

import hashlib
import hmac
from enum import StrEnum

from feedback.errors import InvalidInput

HASH_PURPOSE = "privacy-erasure"


class IdentifierKind(StrEnum):
    EMAIL = "email"  # invitations.email; also a mention whose author is that address
    CUSTOMER_ID = "customer_id"  # invitations.customer_id
    HANDLE = "handle"  # mentions.author (a public handle, with or without the leading @)


def normalize(kind: IdentifierKind, value: str) -> str:
    """The identifier as it is compared: e-mails and handles case-insensitively, customer ids exactly."""
    cleaned = value.strip()
    if kind == IdentifierKind.HANDLE:
        cleaned = cleaned.lstrip("@")
    if kind != IdentifierKind.CUSTOMER_ID:
        cleaned = cleaned.lower()
    if not cleaned:
        raise InvalidInput.on(kind.value, "must not be empty")
    if len(cleaned) > 320:
        raise InvalidInput.on(kind.value, "at most 320 characters")
    if kind == IdentifierKind.EMAIL and "@" not in cleaned:
        raise InvalidInput.on(kind.value, f"not an e-mail address: {value!r}")
    return cleaned


def keyed_hash(key: bytes, kind: IdentifierKind, normalized: str) -> str:
    """HMAC-SHA256 of the kind and normalized identifier: proves a request without storing who made it."""
    return hmac.new(key, f"{kind.value}:{normalized}".encode(), hashlib.sha256).hexdigest()


def one_identifier(given: dict[IdentifierKind, str | None]) -> tuple[IdentifierKind, str]:
    """The single identifier given; an error naming the fields when none or several are."""
    chosen = [(kind, value) for kind, value in given.items() if value is not None]
    if len(chosen) != 1:
        names = " or ".join(kind.value for kind in given)
        raise InvalidInput.on(
            names.split(" or ")[0] if not chosen else chosen[1][0].value, f"give exactly one of {names}"
        )
    return chosen[0]
