"""The one way mentions get stored: insert if absent, so (source, source_id) exists once whatever the way in.

``INSERT ... ON CONFLICT (source, source_id) DO NOTHING`` for a whole batch at once (on PostgreSQL from a
COPY into a temporary table, db/bulk.py): a mention stored before, by this or any other way in, or by a
concurrent process, is left as it was. After each batch, words now posted by enough distinct accounts are
flagged ``copypasta`` on every copy. The daily mention rollups (metrics/rollups.py) change in the same
transaction: the new mentions are counted, those just flagged as noise no longer are.

Rows come prepared as tuples (prepare.COLUMNS) and go to the driver's executemany directly: the bulk
import path spends no time building dictionaries or in per-value type machinery (timestamps come
already in the form the column type would give them: see time_style).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, cast

from sqlalchemy import Connection, Table
from sqlalchemy.orm import Session

from feedback.analysis.matching import Matcher
from feedback.db import bulk, read_by_keys
from feedback.departments.service import department_slugs
from feedback.errors import FieldError, InvalidInput
from feedback.mentions.prepare import AT, COLUMNS, Row, stored_time
from feedback.metrics import rollups
from feedback.models import Mention

MENTIONS = cast(Table, Mention.__table__)
_KEY = ("source", "source_id")  # a mention's unique key
_COPY_FROM = 50  # rows: from this many, PostgreSQL takes a batch by COPY into a temporary table (db/bulk.py)
_HASHES_PER_STATEMENT = 8192  # bound parameters per statement stay far below SQLite's limit
if set(COLUMNS) != {c.name for c in MENTIONS.columns} - {"id"}:  # pragma: no cover - caught by any test
    raise RuntimeError("prepare.COLUMNS and the mentions table disagree")


@dataclass
class Stored:
    """How many mentions of a batch were new, and how many were stored already."""

    stored: int = 0
    duplicates: int = 0


@dataclass(frozen=True)
class Target:
    """What preparing rows for this database needs to know: the rules' department ids by slug, and
    how the database takes timestamps (``text`` or ``datetime``, see prepare.stored_time)."""

    departments: dict[str, int]
    time_style: str


def target(session: Session, matcher: Matcher) -> Target:
    return Target(rule_departments(session, matcher), time_style(session))


def time_style(session: Session) -> str:
    """The prepare.stored_time style that gives exactly what SQLAlchemy's column type would store."""
    dialect = session.get_bind().dialect
    processor = MENTIONS.c.posted_at.type.dialect_impl(dialect).bind_processor(dialect)
    sample = datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    expected = processor(sample) if processor else sample.replace(tzinfo=None)
    for style in ("text", "datetime"):
        if stored_time(sample, style) == expected:
            return style
    raise RuntimeError(f"unexpected timestamp format {expected!r}; teach prepare.stored_time this database")


def rule_departments(session: Session, matcher: Matcher) -> dict[str, int]:
    """Department ids by slug for the rules' departments; an unknown slug is an error naming its rule."""
    known = department_slugs(session)
    errors = [
        FieldError(f"rules[{i}].department", f"unknown department {rule.department!r}")
        for i, rule in enumerate(matcher.rules)
        if rule.department and rule.department not in known
    ]
    if errors:
        raise InvalidInput.of(errors)
    return {slug: known[slug] for slug in {r.department for r in matcher.rules if r.department}}


def _insert_sql(session: Session) -> str:
    dialect = session.get_bind().dialect
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    sql = (
        f"INSERT INTO mentions ({', '.join(COLUMNS)}) VALUES ({', '.join([mark] * len(COLUMNS))}) "  # noqa: S608 - constant column names, values as parameters
        "ON CONFLICT (source, source_id) DO NOTHING"
    )
    return sql


def store_mentions(session: Session, rows: Sequence[Row], copypasta_accounts: int) -> Stored:
    """Insert the prepared ``rows`` that are not stored yet; the rest count as duplicates."""
    read_by_keys(session)  # a table grown since PostgreSQL last analysed it must not be read whole
    connection = session.connection()
    source, source_id = AT["source"], AT["source_id"]
    unique: dict[tuple[str, str], Row] = {}
    for row in rows:
        unique.setdefault((row[source], row[source_id]), row)
    if connection.dialect.name == "postgresql" and len(unique) >= _COPY_FROM:  # the insert finds duplicates
        stored = bulk.insert_new_values(connection, MENTIONS, COLUMNS, list(unique.values()), _KEY, _KEY)
        fresh = [unique[key] for key in stored]
        inserted = len(fresh)
    else:  # a few rows, or SQLite (its driver cannot return rows from a bulk insert): look them up first
        for key in _stored_already(session, list(unique)):
            del unique[key]
        fresh = list(unique.values())
        inserted = int(connection.exec_driver_sql(_insert_sql(session), fresh).rowcount) if fresh else 0
    if not fresh:
        return Stored(0, len(rows))
    author, noise, text_hash = AT["author"], AT["noise"], AT["text_hash"]
    hashes = {row[text_hash] for row in fresh if row[noise] is None and row[author]}
    flagged = flag_copypasta(session, hashes, copypasta_accounts)
    if inserted == len(fresh):  # every row looked up as new was stored by this transaction
        added = [_fact(row) for row in fresh if row[noise] is None]
        rollups.count_mentions(session.connection(), added, flagged)
    else:  # another transaction stored some of them meanwhile: which ones is unknown, so recount
        days = {fact[0] for fact in (*map(_fact, fresh), *flagged)}
        rollups.rebuild_mentions(session.connection(), days)
    return Stored(inserted, len(rows) - inserted)


def _stored_already(session: Session, keys: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which (source, source_id) of ``keys`` are stored already."""
    connection = session.connection()
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    by_source: dict[str, list[str]] = {}
    for source, source_id in keys:
        by_source.setdefault(source, []).append(source_id)
    found: set[tuple[str, str]] = set()
    for source, ids in by_source.items():
        for batch in _padded(ids):
            marks = ", ".join([mark] * len(batch))
            sql = f"SELECT source_id FROM mentions WHERE source = {mark} AND source_id IN ({marks})"  # noqa: S608 - constants
            found.update((source, sid) for (sid,) in connection.exec_driver_sql(sql, (source, *batch)))
    return found


def _padded(values: Sequence[str]) -> list[list[str]]:
    """``values`` in statements of a few sizes only (powers of two, padded with a repeat): drivers cache
    prepared statements by their text, and one per batch size would fill that cache with large ones."""
    parts = []
    for start in range(0, len(values), _HASHES_PER_STATEMENT):
        batch = list(values[start : start + _HASHES_PER_STATEMENT])
        batch += batch[-1:] * (max(64, 1 << (len(batch) - 1).bit_length()) - len(batch))
        parts.append(batch)
    return parts


def _day(stored: Any) -> date:
    """The UTC day of a timestamp as the database stores it (prepare.stored_time) or returns it."""
    if isinstance(stored, str):
        return date.fromisoformat(stored[:10])
    return cast(datetime, stored).date()


def _fact(row: Row) -> rollups.MentionFact:
    return (
        _day(row[AT["posted_at"]]),
        row[AT["source"]],
        row[AT["department_id"]],
        row[AT["product"]],
        row[AT["polarity"]],
    )


def flag_copypasta(session: Session, hashes: Collection[str], accounts: int) -> list[rollups.MentionFact]:
    """Flag every unflagged copy of the texts among ``hashes`` posted by ``accounts`` or more accounts; the
    flagged mentions as rollups count them.

    Reposts and otherwise flagged posts do not count as accounts posting the words themselves.
    """
    if accounts <= 0 or not hashes:
        return []
    connection = session.connection()
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    flagged: list[rollups.MentionFact] = []
    for batch in _padded(_stored_often(connection, mark, hashes, accounts)):
        sql = (
            "UPDATE mentions SET noise = 'copypasta' WHERE noise IS NULL AND text_hash IN ("  # noqa: S608 - constants
            f"SELECT text_hash FROM mentions WHERE text_hash IN ({', '.join([mark] * len(batch))}) "
            "AND author IS NOT NULL AND (noise IS NULL OR noise = 'copypasta') "
            f"GROUP BY text_hash HAVING count(DISTINCT source || ':' || author) >= {mark}) "
            "RETURNING posted_at, source, department_id, product, polarity"
        )
        result = connection.exec_driver_sql(sql, (*batch, accounts))
        flagged.extend((_day(at), source, dep, product, pol) for at, source, dep, product, pol in result)
    return flagged


def _stored_often(connection: Connection, mark: str, hashes: Collection[str], times: int) -> list[str]:
    """Which of ``hashes`` are stored at least ``times`` times, whoever posted them: the only ones that
    can be copypasta. Answered from the index on text_hash alone, without reading the rows, so the rows
    of the rarely repeated texts are not read at all."""
    often: list[str] = []
    for batch in _padded(list(hashes)):
        sql = (
            f"SELECT text_hash FROM mentions WHERE text_hash IN ({', '.join([mark] * len(batch))}) "  # noqa: S608 - constants
            f"GROUP BY text_hash HAVING count(*) >= {mark}"
        )
        often.extend(h for (h,) in connection.exec_driver_sql(sql, (*batch, times)))
    return often
