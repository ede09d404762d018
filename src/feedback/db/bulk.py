"""Many rows into one table through the driver: COPY on PostgreSQL, one executemany on SQLite.

SQLAlchemy's per-row parameter handling costs more than SQLite's own insert of a row, and PostgreSQL runs
one INSERT per row where a COPY takes them all at once. The values are converted by the columns' own bind
processors, so the stored rows are those an INSERT through SQLAlchemy stores. The rows go into the
caller's transaction; the driver's errors are raised as SQLAlchemy's (IntegrityError for a violation,
OperationalError for a locked or unreachable database), as from any statement.
Only for tables whose columns have no Python-side defaults: every value comes from the rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.exc import DBAPIError


def insert_rows(connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (each with the same keys: column names) into ``table``."""
    if not rows:
        return
    dialect = connection.dialect
    names = list(rows[0])
    processors = [
        (i, processor)
        for i, name in enumerate(names)
        if (processor := table.c[name].type.dialect_impl(dialect).bind_processor(dialect)) is not None
    ]
    values = []
    for row in rows:
        value = [row[name] for name in names]
        for i, processor in processors:
            if value[i] is not None:
                value[i] = processor(value[i])
        values.append(value)
    quote = dialect.identifier_preparer.quote
    into = f"{quote(table.name)} ({', '.join(quote(name) for name in names)})"
    driver = connection.connection.driver_connection
    assert driver is not None
    cursor = driver.cursor()
    try:
        if dialect.name == "postgresql":
            with cursor.copy(f"COPY {into} FROM STDIN") as copy:
                for value in values:
                    copy.write_row(value)
        else:
            cursor.executemany(f"INSERT INTO {into} VALUES ({', '.join('?' * len(names))})", values)  # noqa: S608 (our names; values bound)
    except dialect.loaded_dbapi.Error as exc:
        lost = dialect.is_disconnect(exc, driver, cursor)
        if lost:
            connection.invalidate(exc)
        base = dialect.loaded_dbapi.Error
        raise DBAPIError.instance(
            f"INSERT INTO {into}", None, exc, base, connection_invalidated=lost
        ) from exc
    finally:
        cursor.close()
