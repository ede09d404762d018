"""Large SQLite reads as Arrow, through ADBC, in a child process of their own.

ADBC streams SQLite rows into Arrow columns in C, 4-6 times cheaper than building Python rows with
``sqlite3``. But its driver links a second copy of SQLite, and two copies in one process break each
other's POSIX locks and WAL bookkeeping (sqlite.org/howtocorrupt.html 2.2.1). So ADBC runs in one
child process per parent (``python -m feedback.db.sqlite_arrow``, started on first use, so it
never re-imports the parent's ``__main__``), which is just another reader of the database file, as safe
as any other process. Requests go to its stdin and rows come back on its stdout as one Arrow IPC stream,
each message prefixed with its length.

The driver guesses a column's type from its first batch and fails if a later value has another type,
so text is read as COALESCE(column, '') and floats as COALESCE(column, 9e999) (infinity); ``tidy``
turns them back into nulls. Should the child fail to start or die, ``read_arrow`` returns None and the
caller reads through its own ``sqlite3`` connection instead.
"""

from __future__ import annotations

import logging
import pickle
import struct
import subprocess
import sys
import threading
from typing import IO, Any

import polars as pl

log = logging.getLogger(__name__)
BATCH_ROWS = 65_536
_LENGTH = struct.Struct("!Q")


class _Child:
    """The reader process, started on first use and again after it died."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.process: subprocess.Popen[bytes] | None = None
        self.disabled = False

    def read(self, request: tuple[str, str, list[Any]]) -> bytes | None:
        with self.lock:
            if self.disabled:
                return None
            try:
                if self.process is None or self.process.poll() is not None:
                    self.process = subprocess.Popen(  # noqa: S603 (our own module, no shell)
                        [sys.executable, "-m", __name__], stdin=subprocess.PIPE, stdout=subprocess.PIPE
                    )
                assert self.process.stdin is not None and self.process.stdout is not None
                _send(self.process.stdin, pickle.dumps(request))
                status, payload = _receive(self.process.stdout)
            except (OSError, EOFError) as exc:
                log.warning("the SQLite reader process failed (%s); reading in this process", exc)
                self.process = None
                return None
            if status != b"ok":
                log.warning("the SQLite reader could not read (%s); reading in this process", payload[:500])
                if status == b"missing":  # no ADBC driver installed: don't ask again
                    self.disabled = True
                return None
            return payload


_child = _Child()


def _send(stream: IO[bytes], payload: bytes, status: bytes = b"ok") -> None:
    stream.write(_LENGTH.pack(len(payload)) + status.ljust(8) + payload)
    stream.flush()


def _receive(stream: IO[bytes]) -> tuple[bytes, bytes]:
    head = stream.read(_LENGTH.size + 8)
    if len(head) < _LENGTH.size + 8:
        raise EOFError("the reader process ended")
    (length,) = _LENGTH.unpack(head[: _LENGTH.size])
    payload = stream.read(length)
    if len(payload) < length:
        raise EOFError("the reader process ended mid-answer")
    return head[_LENGTH.size :].rstrip(), payload


def sentinel(sql: str, kind: str) -> str:
    """``sql`` wrapped so that ADBC sees one type in every batch (undone by ``tidy``)."""
    if kind == "text":
        return f"COALESCE({sql}, '')"
    if kind == "float":
        return f"COALESCE({sql}, 9e999)"
    return sql


def tidy(frame: pl.DataFrame, kinds: dict[str, str]) -> pl.DataFrame:
    """Nulls back where ``sentinel`` put '' or infinity."""
    exprs = []
    for name, kind in kinds.items():
        c = pl.col(name)
        if kind == "text":  # cast first: ADBC types a column of no rows as int64
            text = c.cast(pl.String)
            exprs.append(pl.when(text != "").then(text).alias(name))
        elif kind == "float":
            exprs.append(pl.when(c.cast(pl.Float64).is_finite()).then(c.cast(pl.Float64)).alias(name))
    return frame.with_columns(exprs) if exprs else frame


def read_arrow(path: str, sql: str, params: list[Any]) -> pl.DataFrame | None:
    """The query's rows, read by the child process; None when the child cannot do it."""
    payload = _child.read((path, sql, params))
    return None if payload is None else pl.read_ipc_stream(payload)


def _read(path: str, sql: str, params: list[Any]) -> bytes:
    import adbc_driver_sqlite.dbapi as adbc_sqlite
    import pyarrow as pa

    with adbc_sqlite.connect(path) as connection:
        cursor = connection.cursor()
        try:
            cursor.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(BATCH_ROWS)})
            cursor.execute(sql, params or None)
            table = cursor.fetch_arrow_table()
        finally:
            cursor.close()
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue())


def _serve() -> None:
    """The child: answer requests from stdin until it closes."""
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while True:
        try:
            _, request = _receive(stdin)
        except EOFError:
            return
        try:
            _send(stdout, _read(*pickle.loads(request)))  # noqa: S301 (from our own parent, over a pipe)
        except ImportError as exc:
            _send(stdout, str(exc).encode(), b"missing")
        except Exception as exc:
            _send(stdout, repr(exc).encode(), b"error")


if __name__ == "__main__":
    _serve()
