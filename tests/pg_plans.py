"""What PostgreSQL counted of a test's reads: whole-table scans against index scans, per table.

PostgreSQL plans a young table (no statistics yet, or grown since its last ANALYZE) as a small one: it
guesses that each key of a batch matches 0.5% of the rows and may read the whole table instead of the
index, and a plan prepared then keeps doing so as the table grows. Paths that write in bulk must find rows
by their keys all the same; these counters show whether they do.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from sqlalchemy import Engine, text


def table_stats(engine: Engine, column: str, tables: Sequence[str]) -> dict[str, int]:
    """``column`` of pg_stat_user_tables (seq_scan, idx_scan, ...) for each of ``tables``."""
    with engine.connect() as connection:  # a new transaction: a fresh snapshot of the statistics
        rows = connection.execute(
            text(f"SELECT relname, {column} FROM pg_stat_user_tables WHERE relname = ANY(:names)"),
            {"names": list(tables)},
        )
        return {name: int(value or 0) for name, value in rows}


def flush_statistics(engine: Engine) -> None:
    """Close every connection: a backend's last statistics are flushed when it exits."""
    engine.dispose()
    others = text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )
    with engine.connect() as connection:
        while connection.scalar(others):
            connection.rollback()
            time.sleep(0.05)
