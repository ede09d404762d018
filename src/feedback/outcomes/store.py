"""The one way outcome events and identities get stored: insert if absent, so a re-import adds nothing.

``INSERT ... ON CONFLICT DO NOTHING RETURNING id`` for a whole batch, on SQLite and PostgreSQL alike:
the rows returned are the new ones; the rest were stored before (by a file, the API or a concurrent
process). Erasure (privacy/erase.py) removes a person's events and identity rows here.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from feedback.models import CustomerIdentity, OutcomeEvent
from feedback.outcomes.events import Event

CHUNK = 500  # ids per IN (...) list


@dataclass
class Stored:
    stored: int = 0
    duplicates: int = 0


def _insert_if_absent(session: Session, table: Any, rows: Sequence[dict[str, Any]], key: str) -> int:
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(table).on_conflict_do_nothing(index_elements=[key]).returning(table.c.id)
    return len(session.execute(statement, list(rows)).all())


def store_events(session: Session, events: Sequence[Event]) -> Stored:
    """Insert the events not stored yet (the same key twice in ``events`` counts once)."""
    unique = {event.dedup_key: event.row() for event in events}
    table: Table = OutcomeEvent.__table__  # type: ignore[assignment]
    stored = _insert_if_absent(session, table, list(unique.values()), "dedup_key")
    return Stored(stored, len(events) - stored)


@dataclass
class IdentitiesStored:
    stored: int = 0
    duplicates: int = 0
    conflicts: list[tuple[str, str, str]] | None = None  # (customer_id, person given, person stored)


def store_identities(session: Session, pairs: Sequence[tuple[str, str]]) -> IdentitiesStored:
    """Map each customer id to its person; an id already mapped to another person is a conflict, kept."""
    unique = dict(pairs)
    rows = [{"customer_id": c, "person_id": p} for c, p in unique.items()]
    table: Table = CustomerIdentity.__table__  # type: ignore[assignment]
    stored = _insert_if_absent(session, table, rows, "customer_id")
    conflicts: list[tuple[str, str, str]] = []
    if stored < len(rows):
        ids = list(unique)
        for part in _chunks(ids):
            held = session.execute(
                select(CustomerIdentity.customer_id, CustomerIdentity.person_id).where(
                    CustomerIdentity.customer_id.in_(part)
                )
            )
            conflicts += [(c, unique[c], p) for c, p in held if unique[c] != p]
    return IdentitiesStored(stored, len(pairs) - stored - len(conflicts), conflicts)


def _chunks(ids: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def all_ids_of(session: Session, customer_ids: Collection[str]) -> set[str]:
    """Every id of the persons these ids belong to (the ids, their persons, the persons' other ids)."""
    ids = set(customer_ids)
    if not ids:
        return ids
    persons = set(ids)
    for part in _chunks(sorted(ids)):
        persons |= set(
            session.scalars(select(CustomerIdentity.person_id).where(CustomerIdentity.customer_id.in_(part)))
        )
    everyone = set(persons) | ids
    for part in _chunks(sorted(persons)):
        everyone |= set(
            session.scalars(select(CustomerIdentity.customer_id).where(CustomerIdentity.person_id.in_(part)))
        )
    return everyone


def erase_outcomes(session: Session, ids: Collection[str]) -> dict[str, int]:
    """Delete the outcome events and identity rows of these ids (give all_ids_of's answer)."""
    counts = {"outcome_events": 0, "customer_identities": 0}
    listed = sorted(ids)
    for part in _chunks(listed):
        for name, statement in (
            ("outcome_events", delete(OutcomeEvent).where(OutcomeEvent.customer_id.in_(part))),
            (
                "customer_identities",
                delete(CustomerIdentity).where(
                    CustomerIdentity.customer_id.in_(part) | CustomerIdentity.person_id.in_(part)
                ),
            ),
        ):
            result = session.execute(statement.execution_options(synchronize_session=False))
            counts[name] += getattr(result, "rowcount", 0) or 0
    return counts
