"""A panel's data as a file: CSV (UTF-8, a header row) or Parquet."""

from __future__ import annotations

import io

import polars as pl

FORMATS = {"csv": "text/csv; charset=utf-8", "parquet": "application/vnd.apache.parquet"}


def _csv_ready(frame: pl.DataFrame) -> pl.DataFrame:
    """Lists joined with " | ", and text that a spreadsheet would run as a formula prefixed with '."""
    exprs = []
    for name, dtype in frame.schema.items():
        column = pl.col(name)
        if isinstance(dtype, pl.List):
            column = column.list.join(" | ")
            dtype = pl.String()
        if dtype == pl.String:
            column = (
                pl.when(column.str.contains(r"^[=+\-@\t\r]")).then(pl.lit("'") + column).otherwise(column)
            )
        exprs.append(column.alias(name))
    return frame.select(exprs) if exprs else frame


def to_bytes(frame: pl.DataFrame, fmt: str) -> bytes:
    buffer = io.BytesIO()
    if fmt == "csv":
        _csv_ready(frame).write_csv(buffer)
    elif fmt == "parquet":
        frame.write_parquet(buffer)
    else:
        raise ValueError(f"unknown format {fmt!r}")
    return buffer.getvalue()
