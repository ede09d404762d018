"""Mentions from a file: CSV or JSON Lines, any columns, through a mapping of our fields to the file's.

The file is streamed: it is read one chunk of rows at a time and memory stays flat whatever its size.
Chunks are prepared (checked, normalized, scored) by a pool of worker processes, in order, and each
chunk is committed by this process in its own transaction with insert-if-absent: a re-run, or a run
after one that was killed half-way, stores each row exactly once. Workers run at a lower priority
(nice 5), so that the one writer gets the CPU it needs; at most 2 x workers + 1 pieces of a chunk
are in flight.

A row whose text is blank is skipped and counted (a complaint export often has most rows without a
narrative: they are not mentions). A row with a bad value is rejected with its line number and reason;
the good rows are stored.
"""

from __future__ import annotations

import csv
import gc
import io
import json
import multiprocessing
import os
import tomllib
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from multiprocessing.pool import AsyncResult
from pathlib import Path
from typing import IO, Any, BinaryIO, cast

from sqlalchemy.orm import Session, sessionmaker

from feedback.db import transaction
from feedback.errors import FieldError, InvalidInput
from feedback.heap import fewer_collections
from feedback.mentions.prepare import FIELDS, REQUIRED, Prepared, Preparer, Row, scoring
from feedback.mentions.rules import IngestOptions
from feedback.mentions.store import Stored, store_mentions, target
from feedback.models import utcnow

MAX_ERRORS_KEPT = 1000
# Rows per transaction by default. Few large transactions cost far less than many small ones: a random
# index (mentions.text_hash) gets new entries on nearly every page of it, and each commit writes every
# page it changed once more (to SQLite's write-ahead log). Storing the rows from 900k to 1M cost 32 µs of
# CPU per row with 5,000 rows per commit, 28 with 20,000 (docs/benchmarks.md, mention import).
CHUNK_ROWS = 20_000
PIECE_ROWS = 5000  # rows per task of a worker process: chunks are prepared in pieces, all cores at once
Record = tuple[int, dict[str, Any]]  # (line number, {our field: the file's value})
_worker_preparer: Preparer | None = None


@dataclass
class ImportReport:
    rows: int = 0
    stored: int = 0
    duplicates: int = 0  # already stored (by an earlier run or another way in), or twice in this file
    skipped_blank: int = 0  # no text: not a mention
    rejected: int = 0
    errors: list[FieldError] = field(default_factory=list)  # the first MAX_ERRORS_KEPT, "line N: field"


def parse_mapping(pairs: Iterable[str]) -> dict[str, str]:
    """``field=COLUMN`` pairs from the command line."""
    mapping: dict[str, str] = {}
    for pair in pairs:
        name, sep, column = pair.partition("=")
        if not sep or not name.strip() or not column:
            raise InvalidInput.on("--map", f"expected FIELD=COLUMN, got {pair!r}")
        mapping[name.strip()] = column
    return mapping


def read_mapping_file(path: Path) -> tuple[dict[str, str], dict[str, Any]]:
    """A mapping file: ``[map]`` (field = "column") and optional top-level ``source`` and ``format``."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput.on(str(path), f"not valid TOML: {exc}") from exc
    mapping = data.pop("map", None)
    if not isinstance(mapping, dict) or not all(isinstance(v, str) for v in mapping.values()):
        raise InvalidInput.on(f"{path}: map", 'expected a table of field = "column"')
    unknown = set(data) - {"source", "format"}
    if unknown:
        raise InvalidInput.on(
            f"{path}", f"unknown key(s) {', '.join(sorted(unknown))}; known: map, source, format"
        )
    return dict(mapping), data


def check_mapping(mapping: Mapping[str, str]) -> None:
    unknown = [name for name in mapping if name not in FIELDS]
    if unknown:
        raise InvalidInput.on("mapping", f"unknown field(s) {', '.join(unknown)}; known: {', '.join(FIELDS)}")
    missing = [name for name in REQUIRED if name not in mapping]
    if missing:
        raise InvalidInput.on("mapping", f"map the required field(s) {', '.join(missing)} to a column")


def file_format(path: Path, given: str | None) -> str:
    fmt = (given or path.suffix.lstrip(".")).lower()
    fmt = {"jsonl": "jsonl", "ndjson": "jsonl", "json": "jsonl", "csv": "csv"}.get(fmt, fmt)
    if fmt not in ("csv", "jsonl"):
        raise InvalidInput.on("format", "expected csv or jsonl (JSON Lines: one object per line)")
    return fmt


def read_csv(stream: IO[str], mapping: Mapping[str, str]) -> Iterator[Record]:
    """Records of a CSV file, each with the line its row starts on (the header is line 1)."""
    check_mapping(mapping)
    reader = csv.reader(stream)
    header = next(reader, None)
    if not header:
        raise InvalidInput.on("line 1", "the file is empty; expected a header row")
    header = [h.strip() for h in header]
    missing = [column for column in mapping.values() if column not in header]
    if missing:
        raise InvalidInput.on("line 1", f"no column(s) {', '.join(map(repr, missing))} in the header")
    positions = [(name, header.index(column)) for name, column in mapping.items()]
    width = len(header)
    start = reader.line_num + 1
    rows = iter(reader)
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except csv.Error as error:  # e.g. a value longer than csv.field_size_limit(): the rest is unreadable
            yield start, {"": f"not readable as CSV from here on: {error}"}
            return
        if not row:
            start = reader.line_num + 1
            continue
        if len(row) != width:
            yield start, {"": f"expected {width} values as in the header, found {len(row)}"}
        else:
            yield start, {name: row[i] for name, i in positions}
        start = reader.line_num + 1


def read_jsonl(stream: IO[str], mapping: Mapping[str, str]) -> Iterator[Record]:
    """Records of a JSON Lines file (one object per line; blank lines are ignored)."""
    check_mapping(mapping)
    for line, text in enumerate(stream, start=1):
        if not text.strip():
            continue
        try:
            item = json.loads(text)
        except ValueError as exc:
            yield line, {"": f"not valid JSON: {exc}"}
            continue
        if not isinstance(item, dict):
            yield line, {"": "expected a JSON object"}
            continue
        yield line, {name: item.get(key) for name, key in mapping.items()}


def open_records(
    path: Path, fmt: str, mapping: Mapping[str, str]
) -> tuple[io.TextIOWrapper, Iterator[Record]]:
    """The open file (``.buffer.tell()`` tells progress in bytes) and its records."""
    raw = path.open("rb")
    text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="" if fmt == "csv" else None)
    return text, (read_csv(text, mapping) if fmt == "csv" else read_jsonl(text, mapping))


def position(stream: io.TextIOWrapper) -> int:
    """How many bytes of the file have been read (for a progress bar)."""
    return cast(BinaryIO, stream.buffer).tell()


def prepare_chunk(preparer: Preparer, chunk: list[Record]) -> list[tuple[int, Prepared]]:
    out: list[tuple[int, Prepared]] = []
    for line, raw in chunk:
        problem = raw.get("")
        if problem is not None:
            out.append((line, [FieldError(f"line {line}", str(problem))]))
        else:
            out.append((line, preparer.prepare(raw, f"line {line}: ")))
    return out


def _init_worker(preparer: Preparer) -> None:
    global _worker_preparer  # one preparer per worker process
    os.nice(5)
    _worker_preparer = preparer
    scoring()  # loaded before the freeze below
    gc.freeze()  # what is loaded now lives as long as the worker: no collection need walk it again
    gc.set_threshold(gc.get_threshold()[0] * 100)


def _prepare_in_worker(chunk: list[Record]) -> list[tuple[int, Prepared]]:
    assert _worker_preparer is not None
    return prepare_chunk(_worker_preparer, chunk)


def _chunks(records: Iterable[Record], size: int) -> Iterator[list[Record]]:
    chunk: list[Record] = []
    for record in records:
        chunk.append(record)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def import_mentions(
    factory: sessionmaker[Session],
    records: Iterable[Record],
    options: IngestOptions,
    source: str,
    *,
    chunk_size: int = CHUNK_ROWS,
    workers: int = 0,
    on_chunk: Callable[[ImportReport], None] | None = None,
    on_reject: Callable[[FieldError], None] | None = None,
) -> ImportReport:
    """Store every good record; ``workers`` > 0 prepares chunks in that many processes (0: in this one).

    Each chunk of ``chunk_size`` rows is one transaction, committed in file order (workers prepare it in
    pieces of PIECE_ROWS); ``on_chunk`` is told after each commit.
    """
    with transaction(factory) as session:
        preparer = options.preparer(source, "import", utcnow(), target(session, options.matcher))
    report = ImportReport()

    def write(prepared: list[tuple[int, Prepared]]) -> None:
        rows: list[Row] = []
        for _line, result in prepared:
            report.rows += 1
            if result is None:
                report.skipped_blank += 1
            elif isinstance(result, list):
                report.rejected += 1
                for error in result:
                    if len(report.errors) < MAX_ERRORS_KEPT:
                        report.errors.append(error)
                    if on_reject is not None:
                        on_reject(error)
            else:
                rows.append(result)
        if rows:
            with transaction(factory) as session:
                outcome = store_mentions(session, rows, options.copypasta_accounts)
        else:
            outcome = Stored()
        report.stored += outcome.stored
        report.duplicates += outcome.duplicates
        if on_chunk is not None:
            on_chunk(report)

    chunks = _chunks(records, chunk_size)
    if workers <= 0:
        with fewer_collections():
            for chunk in chunks:
                write(prepare_chunk(preparer, chunk))
        return report
    context = multiprocessing.get_context("spawn")  # no copy of this process's connections or threads
    with fewer_collections(), context.Pool(workers, initializer=_init_worker, initargs=(preparer,)) as pool:
        in_flight: deque[tuple[AsyncResult[list[tuple[int, Prepared]]], bool]] = deque()
        done: list[tuple[int, Prepared]] = []  # the prepared pieces of the chunk being gathered

        def gather() -> None:
            result, ends_chunk = in_flight.popleft()
            done.extend(result.get())
            if ends_chunk:
                write(done.copy())
                done.clear()

        for chunk in chunks:
            for start in range(0, len(chunk), PIECE_ROWS):
                piece = chunk[start : start + PIECE_ROWS]
                ends_chunk = start + PIECE_ROWS >= len(chunk)
                in_flight.append((pool.apply_async(_prepare_in_worker, (piece,)), ends_chunk))
                if len(in_flight) > 2 * workers:  # bounded: memory stays flat however long the file
                    gather()
        while in_flight:
            gather()
    return report
