"""The one way mentions get stored: insert if absent, so (source, source_id) exists once whatever the way in.

``INSERT ... ON CONFLICT (source, source_id) DO NOTHING``, executed for a whole batch at once on SQLite
and PostgreSQL alike: a mention stored before, by this or any other way in, or by a concurrent process,
is left as it was. After each batch, words now posted by enough distinct accounts are flagged
``copypasta`` on every copy.

Rows come prepared as tuples (prepare.COLUMNS) and go to the driver's executemany directly: the bulk
import path spends no time building dictionaries or in per-value type machinery (timestamps come
already in the form the column type would give them: see time_style).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Table
from sqlalchemy.orm import Session

from feedback.analysis.matching import Matcher
from feedback.errors import FieldError, InvalidInput
from feedback.models import Mention
from feedback.services.departments import department_slugs
from feedback.services.mentions.prepare import AT, COLUMNS, Row, stored_time

MENTIONS = cast(Table, Mention.__table__)
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
    source, source_id = AT["source"], AT["source_id"]
    unique: dict[tuple[str, str], Row] = {}
    for row in rows:
        unique.setdefault((row[source], row[source_id]), row)
    if not unique:
        return Stored(0, len(rows))
    result = session.connection().exec_driver_sql(_insert_sql(session), list(unique.values()))
    inserted = int(result.rowcount)
    author, noise, text_hash = AT["author"], AT["noise"], AT["text_hash"]
    hashes = {row[text_hash] for row in unique.values() if row[noise] is None and row[author]}
    flag_copypasta(session, hashes, copypasta_accounts)
    return Stored(inserted, len(rows) - inserted)


def flag_copypasta(session: Session, hashes: Collection[str], accounts: int) -> int:
    """Flag every unflagged copy of the texts among ``hashes`` posted by ``accounts`` or more accounts.

    Reposts and otherwise flagged posts do not count as accounts posting the words themselves.
    """
    if accounts <= 0 or not hashes:
        return 0
    connection = session.connection()
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    flagged = 0
    listed = list(hashes)
    for start in range(0, len(listed), _HASHES_PER_STATEMENT):
        batch = listed[start : start + _HASHES_PER_STATEMENT]
        # A few statement sizes only (powers of two, padded with a repeat): drivers cache prepared
        # statements by their text, and one per batch size would fill that cache with large ones.
        batch += batch[-1:] * (max(64, 1 << (len(batch) - 1).bit_length()) - len(batch))
        sql = (
            "UPDATE mentions SET noise = 'copypasta' WHERE noise IS NULL AND text_hash IN ("  # noqa: S608 - constants
            f"SELECT text_hash FROM mentions WHERE text_hash IN ({', '.join([mark] * len(batch))}) "
            "AND author IS NOT NULL AND (noise IS NULL OR noise = 'copypasta') "
            f"GROUP BY text_hash HAVING count(DISTINCT source || ':' || author) >= {mark})"
        )
        flagged += int(connection.exec_driver_sql(sql, (*batch, accounts)).rowcount)
    return flagged
