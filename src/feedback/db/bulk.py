"""Many rows into one table through the driver: COPY on PostgreSQL, one executemany on SQLite.

SQLAlchemy's per-row parameter handling costs more than SQLite's own insert of a row, and PostgreSQL runs
one INSERT per row where a COPY takes them all at once. The values are converted by the columns' own bind
processors, so the stored rows are those an INSERT through SQLAlchemy stores. The rows go into the
caller's transaction; the driver's errors are raised as SQLAlchemy's (IntegrityError for a violation,
OperationalError for a locked or unreachable database), as from any statement.
Only for tables whose columns have no Python-side defaults: every value comes from the rows.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Dialect, Table
from sqlalchemy.exc import DBAPIError

Processors = list[tuple[int, Callable[[Any], Any]]]


def bind_processors(dialect: Dialect, table: Table, names: Sequence[str]) -> Processors:
    """How SQLAlchemy converts each of these columns' values for this database's driver (by position).
    Not to be changed: the list is shared by every caller with the same arguments."""
    return _bind_processors(dialect, table, tuple(names))


@functools.lru_cache(maxsize=256)  # asked for by every batch; finding them cost ~75 µs a table
def _bind_processors(dialect: Dialect, table: Table, names: tuple[str, ...]) -> Processors:
    return [
        (i, processor)
        for i, name in enumerate(names)
        if (processor := table.c[name].type.dialect_impl(dialect).bind_processor(dialect)) is not None
    ]


def convert(values: list[list[Any]], processors: Processors) -> None:
    """Convert rows of values (in place) as SQLAlchemy would before handing them to the driver."""
    for value in values:
        for i, processor in processors:
            if value[i] is not None:
                value[i] = processor(value[i])


def insert_rows(connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (each with the same keys: column names) into ``table``."""
    if not rows:
        return
    names = list(rows[0])
    values = [[row[name] for name in names] for row in rows]
    convert(values, bind_processors(connection.dialect, table, names))
    insert_values(connection, table, names, values)


def insert_values(
    connection: Connection,
    table: Table,
    names: Sequence[str],
    values: Sequence[Sequence[Any]],
    skip_stored: Sequence[str] = (),
) -> int:
    """Insert rows of values already converted for the driver, in the order of ``names``; how many.
    SQLite: ``skip_stored`` (a unique constraint's columns) skips the rows that collide with a stored row
    on them, and they are not counted (PostgreSQL: insert_new_values)."""
    dialect = connection.dialect
    into = _into(dialect, table, names)
    with _driver_cursor(connection, f"INSERT INTO {into}") as cursor:
        if dialect.name == "postgresql":
            if skip_stored:
                raise ValueError("PostgreSQL skips stored rows through insert_new_values")
            with cursor.copy(f"COPY {into} FROM STDIN") as copy:
                for value in values:
                    copy.write_row(value)
            return len(values)
        quote = dialect.identifier_preparer.quote
        skip = f" ON CONFLICT ({', '.join(map(quote, skip_stored))}) DO NOTHING" if skip_stored else ""
        cursor.executemany(f"INSERT INTO {into} VALUES ({', '.join('?' * len(names))}){skip}", values)  # noqa: S608 (our names; values bound)
        return int(cursor.rowcount)  # the sum over the rows, for an executemany


def insert_new_values(
    connection: Connection,
    table: Table,
    names: Sequence[str],
    values: Sequence[Sequence[Any]],
    unique: Sequence[str],
    returning: str | tuple[str, ...],
) -> list[Any]:
    """PostgreSQL: insert the rows (values converted for the driver, in the order of ``names``) that do not
    collide with a stored row on the ``unique`` columns (a unique constraint's); the ``returning`` column
    of those inserted (a tuple of columns: tuples of their values), in their order.

    The rows are copied into a temporary table (no WAL, no index), then moved by one INSERT ... SELECT ...
    ON CONFLICT DO NOTHING: the unique index is probed once per row by the insert itself, where a separate
    look-up first would probe it again (and a look-up's plan, made with statistics that cannot count the
    rows this transaction has just added, may read the whole table). A violation of another constraint
    is raised as from insert_values()."""
    dialect = connection.dialect
    quote = dialect.identifier_preparer.quote
    columns = ", ".join(quote(name) for name in names)
    staging = quote(f"bulk_{table.name}")
    conflict = ", ".join(quote(name) for name in unique)
    returned = ", ".join(quote(name) for name in ((returning,) if isinstance(returning, str) else returning))
    with _driver_cursor(connection, f"INSERT INTO {_into(dialect, table, names)}") as cursor:
        # Dropped at the end of the transaction; created in it, so TRUNCATE empties it in place.
        cursor.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {staging} ON COMMIT DROP AS "  # noqa: S608 (our names)
            f"SELECT {columns} FROM {quote(table.name)} WITH NO DATA"
        )
        cursor.execute(f"TRUNCATE {staging}")
        with cursor.copy(f"COPY {staging} ({columns}) FROM STDIN") as copy:
            for value in values:
                copy.write_row(value)
        cursor.execute(
            f"INSERT INTO {_into(dialect, table, names)} SELECT {columns} FROM {staging} "  # noqa: S608
            f"ON CONFLICT ({conflict}) DO NOTHING RETURNING {returned}"
        )
        rows = cursor.fetchall()
        return [row[0] for row in rows] if isinstance(returning, str) else rows


def _into(dialect: Dialect, table: Table, names: Sequence[str]) -> str:
    quote = dialect.identifier_preparer.quote
    return f"{quote(table.name)} ({', '.join(quote(name) for name in names)})"


@contextmanager
def _driver_cursor(connection: Connection, statement: str) -> Iterator[Any]:
    """A cursor of the connection's driver; its errors raised as SQLAlchemy's for ``statement``."""
    dialect = connection.dialect
    driver = connection.connection.driver_connection
    assert driver is not None
    cursor = driver.cursor()
    try:
        yield cursor
    except dialect.loaded_dbapi.Error as exc:
        lost = dialect.is_disconnect(exc, driver, cursor)
        if lost:
            connection.invalidate(exc)
        base = dialect.loaded_dbapi.Error
        raise DBAPIError.instance(statement, None, exc, base, connection_invalidated=lost) from exc
    finally:
        cursor.close()
