"""Batches of outcome events and identities from the API: all stored, or none and every problem named."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

from feedback.errors import FieldError, InvalidInput
from feedback.outcomes.events import Event, parse_event, parse_identity
from feedback.outcomes.store import IdentitiesStored, Stored, store_events, store_identities

MAX_BATCH = 10_000
_SOURCE_CHARS = 64


def _check_size(items: Sequence[Any], name: str) -> None:
    if not items:
        raise InvalidInput.on(name, "give at least one")
    if len(items) > MAX_BATCH:
        raise InvalidInput.on(name, f"at most {MAX_BATCH:,} per request; split the batch")


def add_events(session: Session, source: str, items: Sequence[Mapping[str, Any]]) -> Stored:
    """Store a batch of events (fields named ``events[i].field``); a retry stores nothing new."""
    source = source.strip().lower()
    if not source or len(source) > _SOURCE_CHARS:
        raise InvalidInput.on("source", f"1 to {_SOURCE_CHARS} characters")
    _check_size(items, "events")
    events: list[Event] = []
    errors: list[FieldError] = []
    for i, raw in enumerate(items):
        result = parse_event(raw, source, f"events[{i}].")
        if isinstance(result, list):
            errors += result
        else:
            events.append(result)
    if errors:
        raise InvalidInput.of(errors)
    return store_events(session, events)


def add_identities(session: Session, items: Sequence[Mapping[str, Any]]) -> IdentitiesStored:
    """Store a batch of identity-map rows; an id already mapped to another person rejects the batch."""
    _check_size(items, "identities")
    pairs: list[tuple[str, str]] = []
    errors: list[FieldError] = []
    for i, raw in enumerate(items):
        result = parse_identity(raw, f"identities[{i}].")
        if isinstance(result, list):
            errors += result
        else:
            pairs.append(result)
    if errors:
        raise InvalidInput.of(errors)
    stored = store_identities(session, pairs)
    if stored.conflicts:
        index = {c: i for i, (c, _) in enumerate(pairs)}
        raise InvalidInput.of(
            [
                FieldError(f"identities[{index[c]}].customer_id", f"already belongs to person {held!r}")
                for c, _given, held in stored.conflicts
            ]
        )
    return stored
