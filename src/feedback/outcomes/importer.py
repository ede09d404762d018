"""Outcome events and identity maps from CSV or Parquet files, streamed: memory stays flat at any size.

Columns are our field names (``customer_id, occurred_at, kind, amount, currency, reference``; for an
identity map ``customer_id, person_id``) or mapped to the file's own (``--map occurred_at=order_date``).
A file with a bad row is rejected whole, every problem named by line (CSV; the header is line 1) or row
(Parquet) and column, and nothing is stored: the file is checked in a first pass, stored in a second.
``skip_invalid`` stores the good rows and reports the others. Rows are stored in chunks, each one
transaction, insert-if-absent: importing the file again, or after a run stopped half-way, adds nothing.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from feedback.db import transaction
from feedback.errors import FieldError, InvalidInput
from feedback.outcomes.events import (
    EVENT_FIELDS,
    EVENT_REQUIRED,
    IDENTITY_FIELDS,
    Event,
    parse_event,
    parse_identity,
)
from feedback.outcomes.store import store_events, store_identities

MAX_ERRORS_KEPT = 1000
CHUNK_SIZE = 5000
Record = tuple[str, dict[str, Any]]  # ("line 12: " or "row 12: ", {our field: the file's value})
T = TypeVar("T")


@dataclass
class ImportReport:
    rows: int = 0
    stored: int = 0
    duplicates: int = 0  # stored before (by an earlier import or the API), or twice in this file
    rejected: int = 0
    errors: list[FieldError] = field(default_factory=list)  # the first MAX_ERRORS_KEPT


def parse_mapping(pairs: Sequence[str], fields: Sequence[str]) -> dict[str, str]:
    """Our field -> the file's column, from ``field=COLUMN`` pairs (unmapped fields keep their name)."""
    mapping = {name: name for name in fields}
    for pair in pairs:
        name, sep, column = pair.partition("=")
        if not sep or not column or name.strip() not in fields:
            raise InvalidInput.on("--map", f"expected FIELD=COLUMN with FIELD one of {', '.join(fields)}")
        mapping[name.strip()] = column
    return mapping


def _csv_records(path: Path, mapping: Mapping[str, str], required: Sequence[str]) -> Iterator[Record]:
    with path.open(newline="", encoding="utf-8-sig") as stream:
        reader = csv.reader(stream)
        header = [h.strip() for h in next(reader, [])]
        if not header:
            raise InvalidInput.on("line 1", "the file is empty; expected a header row")
        missing = [mapping[name] for name in required if mapping[name] not in header]
        if missing:
            raise InvalidInput.on("line 1", f"no column(s) {', '.join(map(repr, missing))} in the header")
        positions = [(name, header.index(column)) for name, column in mapping.items() if column in header]
        start = reader.line_num + 1
        for row in reader:
            if row:
                if len(row) != len(header):
                    yield (
                        f"line {start}: ",
                        {"": f"expected {len(header)} values as in the header, found {len(row)}"},
                    )
                else:
                    yield f"line {start}: ", {name: row[i] for name, i in positions}
            start = reader.line_num + 1


def _parquet_records(path: Path, mapping: Mapping[str, str], required: Sequence[str]) -> Iterator[Record]:
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for a file that is not Parquet
        raise InvalidInput.on(str(path), f"not a Parquet file: {exc}") from None
    names = set(parquet.schema_arrow.names)
    missing = [mapping[name] for name in required if mapping[name] not in names]
    if missing:
        raise InvalidInput.on("columns", f"no column(s) {', '.join(map(repr, missing))} in the file")
    present = {name: column for name, column in mapping.items() if column in names}
    number = 0
    for batch in parquet.iter_batches(batch_size=CHUNK_SIZE, columns=sorted(set(present.values()))):
        columns = {name: batch.column(column).to_pylist() for name, column in present.items()}
        for i in range(batch.num_rows):
            number += 1
            yield f"row {number}: ", {name: values[i] for name, values in columns.items()}


def read_records(path: Path, mapping: Mapping[str, str], required: Sequence[str]) -> Iterator[Record]:
    """The rows of a .csv or .parquet file, each with where it is ("line N: " or "row N: ")."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _csv_records(path, mapping, required)
    if suffix in (".parquet", ".pq"):
        return _parquet_records(path, mapping, required)
    raise InvalidInput.on("file", "expected a .csv or .parquet file")


def _column_named(error: FieldError, mapping: Mapping[str, str]) -> FieldError:
    """Name the file's column in an error (``line 3: order_date``), not our field."""
    where, _, name = error.field.rpartition(": ")
    return FieldError(f"{where}: {mapping.get(name, name)}" if where else error.field, error.message)


def import_rows(
    factory: sessionmaker[Session],
    records: Callable[[], Iterator[Record]],
    parse: Callable[[Record], T | list[FieldError]],
    store: Callable[[Session, list[T]], tuple[int, int, list[FieldError]]],
    mapping: Mapping[str, str],
    skip_invalid: bool,
    on_chunk: Callable[[ImportReport], None] | None,
) -> ImportReport:
    report = ImportReport()

    def reject(result: list[FieldError]) -> None:
        report.rejected += 1
        for error in result:
            if len(report.errors) < MAX_ERRORS_KEPT:
                report.errors.append(_column_named(error, mapping))

    if not skip_invalid:  # first pass: check every row, store nothing if one is bad
        for record in records():
            result = parse(record)
            if isinstance(result, list):
                reject(result)
        if report.rejected:
            raise InvalidInput.of(report.errors)
    chunk: list[T] = []

    def flush() -> None:
        with transaction(factory) as session:
            stored, duplicates, problems = store(session, chunk)
        report.stored += stored
        report.duplicates += duplicates
        for problem in problems:
            reject([problem])
        chunk.clear()
        if on_chunk is not None:
            on_chunk(report)

    for record in records():
        report.rows += 1
        result = parse(record)
        if isinstance(result, list):
            reject(result)
            continue
        chunk.append(result)
        if len(chunk) >= CHUNK_SIZE:
            flush()
    if chunk:
        flush()
    return report


def _parse_event(source: str, kind: str | None) -> Callable[[Record], Event | list[FieldError]]:
    def parse(record: Record) -> Event | list[FieldError]:
        where, raw = record
        if "" in raw:
            return [FieldError(where.rstrip(": "), str(raw[""]))]
        if kind is not None and "kind" not in raw:
            raw = {**raw, "kind": kind}
        return parse_event(raw, source, where)

    return parse


def _store_events(session: Session, events: list[Event]) -> tuple[int, int, list[FieldError]]:
    result = store_events(session, events)
    return result.stored, result.duplicates, []


def import_events(
    factory: sessionmaker[Session],
    path: Path,
    *,
    source: str = "import",
    mapping: Mapping[str, str] | None = None,
    kind: str | None = None,
    skip_invalid: bool = False,
    on_chunk: Callable[[ImportReport], None] | None = None,
) -> ImportReport:
    """Store the outcome events of a CSV or Parquet file (see the module's docstring); ``kind`` is every
    row's kind when the file has no kind column."""
    columns = dict(mapping or {name: name for name in EVENT_FIELDS})
    required = [name for name in EVENT_REQUIRED if not (name == "kind" and kind is not None)]
    return import_rows(
        factory,
        lambda: read_records(path, columns, required),
        _parse_event(source, kind),
        _store_events,
        columns,
        skip_invalid,
        on_chunk,
    )


Located = tuple[str, tuple[str, str]]


def _parse_identity(record: Record) -> Located | list[FieldError]:
    where, raw = record
    if "" in raw:
        return [FieldError(where.rstrip(": "), str(raw[""]))]
    result = parse_identity(raw, where)
    return result if isinstance(result, list) else (where, result)


def _store_identities(session: Session, rows: list[Located]) -> tuple[int, int, list[FieldError]]:
    result = store_identities(session, [pair for _, pair in rows])
    where = {pair[0]: place for place, pair in rows}
    problems = [
        FieldError(f"{where[c]}customer_id", f"already belongs to person {held!r}, not {given!r}")
        for c, given, held in result.conflicts or []
    ]
    return result.stored, result.duplicates, problems


def import_identities(
    factory: sessionmaker[Session],
    path: Path,
    *,
    mapping: Mapping[str, str] | None = None,
    skip_invalid: bool = False,
    on_chunk: Callable[[ImportReport], None] | None = None,
) -> ImportReport:
    """Store an identity map (customer_id -> person_id) from a CSV or Parquet file."""
    columns = dict(mapping or {name: name for name in IDENTITY_FIELDS})
    return import_rows(
        factory,
        lambda: read_records(path, columns, IDENTITY_FIELDS),
        _parse_identity,
        _store_identities,
        columns,
        skip_invalid,
        on_chunk,
    )
