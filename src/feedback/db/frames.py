"""Reading tables straight into Polars, fast, on SQLite and PostgreSQL alike.

PostgreSQL frames come from ADBC's Arrow record batch stream (COPY binary): one Polars frame per batch,
concatenated without copying. Measured on 1M responses (docs/benchmarks.md): SQLAlchemy rows -> Polars
4.2 s, ADBC 0.8-1.0 s.

SQLite: a large table (at least ``ARROW_FROM_ROWS`` rows) is read through ADBC in a child process
(db/sqlite_arrow.py); anything else through the engine's own ``sqlite3`` connection, in batches,
one column at a time. Never ADBC or connectorx inside this process on SQLite: they link a second copy of
SQLite, and two copies break each other's POSIX locks and WAL bookkeeping (sqlite.org/howtocorrupt.html
2.2.1; seen here as stale reads, "disk I/O error" and a WAL removed under an open connection). Times are
read as epoch seconds (``unixepoch``) and become UTC datetimes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import polars as pl
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from feedback.db import sqlite_arrow

ColumnKind = Literal["time", "text", "int", "bool", "float", "key"]  # key: a join key, as the driver gives it
BATCH_ROWS = 65_536
ARROW_FROM_ROWS = 100_000  # SQLite tables at least this large are read through ADBC in a child process

_POLARS_TYPES: dict[ColumnKind, pl.DataType] = {
    "time": pl.Datetime("us", "UTC"),
    "text": pl.String(),
    "int": pl.Int64(),
    "bool": pl.Boolean(),
    "float": pl.Float64(),
    "key": pl.String(),
}


# What a DBAPI driver gives for each kind before _tidy: epoch seconds (SQLite) or datetimes, keys as they are.
_RAW_TYPES: dict[ColumnKind, pl.DataType | None] = {
    "time": None,
    "text": pl.String(),
    "int": pl.Int64(),
    "bool": None,
    "float": pl.Float64(),
    "key": None,
}


@dataclass(frozen=True)
class Column:
    """``sql`` (an expression over the table) read as ``name``, of ``kind``."""

    name: str
    sql: str
    kind: ColumnKind


@dataclass
class Select:
    """A SELECT of ``columns`` FROM ``table`` WHERE all ``conditions`` hold (``?`` marks a parameter)."""

    table: str
    columns: list[Column]
    conditions: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)
    suffix: str = ""  # GROUP BY ...
    few_rows: bool = False  # an aggregate that returns few rows, however large the table: read it here,
    # through the engine's pooled connection

    def where(self, condition: str, *params: Any) -> Select:
        self.conditions.append(condition)
        self.params.extend(params)
        return self

    def where_in(self, column: str, values: Sequence[Any]) -> Select:
        marks = ", ".join("?" for _ in values)
        return self.where(f"{column} IN ({marks})", *values)

    def where_time(self, column: str, op: str, value: datetime) -> Select:
        return self.where(f"{column} {op} ?", _UTC_TIME(value))

    def where_windows(self, column: str, windows: Sequence[tuple[datetime, datetime]]) -> Select:
        """``column`` in one of the [start, end) ``windows``."""
        ranges = " OR ".join(f"({column} >= ? AND {column} < ?)" for _ in windows)
        return self.where(ranges, *(_UTC_TIME(t) for window in windows for t in window))

    def render(self, dialect: str) -> tuple[str, list[Any]]:
        """SQL text and parameters for ``dialect`` ("sqlite" or "postgresql")."""
        parts = [_render_column(c, dialect) for c in self.columns]
        # Table and column names come from this package, never from a request; values are parameters.
        sql = f"SELECT {', '.join(parts)} FROM {self.table}"  # noqa: S608
        if self.conditions:
            sql += " WHERE " + " AND ".join(f"({c})" for c in self.conditions)
        sql += self.suffix
        params = [_param(p, dialect) for p in self.params]
        if dialect == "postgresql":
            # Values go in as literals quoted by psycopg: ADBC streams a query without parameters through
            # COPY ... (FORMAT binary), 1.5x faster than binding them.
            from psycopg import sql as pgsql

            pieces = sql.split("?")
            literals = [pgsql.Literal(p).as_string(None) for p in params]
            tail = "".join(f"{lit}{piece}" for lit, piece in zip(literals, pieces[1:], strict=True))
            sql = pieces[0] + tail
            params = []
        return sql, params


class _UTC_TIME:  # noqa: N801 - a marker type, used like a function
    """A time parameter: stored as naive UTC text on SQLite, a naive UTC timestamp on PostgreSQL."""

    def __init__(self, value: datetime) -> None:
        if value.tzinfo is None:
            raise ValueError("naive datetime given; give timezone-aware times")
        self.value = value.astimezone(UTC).replace(tzinfo=None)


def _param(value: Any, dialect: str) -> Any:
    if isinstance(value, _UTC_TIME):
        return value.value.strftime("%Y-%m-%d %H:%M:%S.%f") if dialect == "sqlite" else value.value
    return value


def _render_column(column: Column, dialect: str) -> str:
    sql = column.sql
    if dialect == "sqlite" and column.kind == "time":
        sql = f"unixepoch({sql})"
    return f"{sql} AS {column.name}"


def _tidy(frame: pl.DataFrame, columns: Sequence[Column]) -> pl.DataFrame:
    """Give every column its Polars type."""
    exprs = []
    for column in columns:
        c = pl.col(column.name)
        if column.kind == "time":
            if frame.schema[column.name].is_integer():
                expr = pl.from_epoch(c, "s").dt.replace_time_zone("UTC")
            else:
                expr = c.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
        elif column.kind == "key":
            expr = c  # text on SQLite, 16 bytes (a UUID) on PostgreSQL: only ever compared with itself
        else:
            expr = c.cast(_POLARS_TYPES[column.kind])
        exprs.append(expr.alias(column.name))
    return frame.select(exprs)


def _empty(columns: Sequence[Column]) -> pl.DataFrame:
    return pl.DataFrame(schema={c.name: _POLARS_TYPES[c.kind] for c in columns})


def read_frame(engine: Engine, query: Select) -> pl.DataFrame:
    """The query's rows as one Polars frame (columns typed as declared)."""
    dialect = engine.dialect.name
    if dialect not in ("sqlite", "postgresql"):
        raise ValueError(f"reading frames from {dialect} is not supported")
    sql, params = query.render(dialect)
    batches: Iterator[pl.DataFrame] | None = None
    if not query.few_rows:  # few rows come through the pooled connection: ADBC connects anew for each read
        batches = _sqlite_arrow(engine, query) if dialect == "sqlite" else _adbc_batches(engine, sql)
    if batches is None:
        batches = _dbapi_batches(engine, sql, params, query.columns)
    frames = [_tidy(b, query.columns) for b in batches if b.height]
    if not frames:
        return _empty(query.columns)
    return pl.concat(frames, rechunk=False)


def _sqlite_arrow(engine: Engine, query: Select) -> Iterator[pl.DataFrame] | None:
    """A large SQLite table's rows through the child process; None to read them here."""
    path = engine.url.database or ""
    if not path or path == ":memory:" or path.startswith("file:"):
        return None
    with engine.connect() as connection:  # a table's largest rowid: its size, at the cost of one lookup
        size = connection.exec_driver_sql(f"SELECT max(rowid) FROM {query.table}").scalar()  # noqa: S608
    if (size or 0) < ARROW_FROM_ROWS:
        return None
    wrapped = Select(
        query.table,
        [Column(c.name, sqlite_arrow.sentinel(c.sql, c.kind), c.kind) for c in query.columns],
        query.conditions,
        query.params,
        query.suffix,
    )
    sql, params = wrapped.render("sqlite")
    frame = sqlite_arrow.read_arrow(str(Path(path).resolve()), sql, params)
    if frame is None:
        return None
    return iter([sqlite_arrow.tidy(frame, {c.name: c.kind for c in query.columns})])


def _adbc_batches(engine: Engine, sql: str) -> Iterator[pl.DataFrame] | None:
    """PostgreSQL's rows as Arrow batches (None when the ADBC driver is not installed)."""
    try:
        import adbc_driver_postgresql.dbapi as adbc_postgresql
    except ImportError:
        return None
    uri = make_url(engine.url).set(drivername="postgresql").render_as_string(hide_password=False)
    return _stream(adbc_postgresql.connect(uri), sql)


def _stream(connection: Any, sql: str) -> Iterator[pl.DataFrame]:
    with connection:
        cursor = connection.cursor()
        try:
            cursor.execute(sql)
            for batch in cursor.fetch_record_batch():
                frame = pl.from_arrow(batch)
                assert isinstance(frame, pl.DataFrame)
                yield frame
        finally:
            cursor.close()


def _dbapi_batches(
    engine: Engine, sql: str, params: list[Any], columns: Sequence[Column]
) -> Iterator[pl.DataFrame]:
    """Rows through the engine's own DBAPI connection, built into frames a column at a time."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if params:
            cursor.execute(sql, params)
        else:  # PostgreSQL's SQL holds its values as literals: no '%' may be read as a placeholder
            cursor.execute(sql)
        while rows := cursor.fetchmany(BATCH_ROWS):
            values = list(zip(*rows, strict=True))  # one tuple per column
            yield pl.DataFrame(
                [
                    pl.Series(c.name, v, dtype=_RAW_TYPES[c.kind], strict=False)
                    for c, v in zip(columns, values, strict=True)
                ]
            )
        cursor.close()
    finally:
        raw.close()
