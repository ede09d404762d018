"""Reading an invitation file: row by row, or, where the text allows it, a block of rows at a time.

A block holds the rows as columns of text (Polars), so the checks of plain rows run a column at a time
(plain.py) instead of once per row in Python. Rows keep the line numbers csv.reader gives them. A block is
only made of text that csv.reader and Polars read alike: each line a row, each value either without quotes
or wholly quoted (commas and doubled quotes inside quotes included; a value over two lines not), no carriage
return but in a line's end, no NUL and none of the separator characters that Python strips as blanks and
Polars does not. From the first text that is not such, the rest of the file is read row by row.
"""

from __future__ import annotations

import _csv
import csv
import io
import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TextIO

import polars as pl

from feedback.errors import InvalidInput
from feedback.responses.context import CONTEXT_INPUT_FIELDS, company_fields

RECIPIENT_FIELDS = ("email", "customer_id", "interaction_id", "expires_at", "language")
COLUMNS = (*RECIPIENT_FIELDS, *CONTEXT_INPUT_FIELDS)
BLOCK_CHARS = 1 << 20  # about 8,000 rows of a usual file; memory does not grow with the file
_NOT_IN_BLOCKS = re.compile(r"[\r\x00\x1c-\x1f]")
_FIELD = r'(?:[^",\n]*|"(?:[^"\n]|"")*")'  # a value without quotes, or wholly quoted on its line
_QUOTED_LINE = rf"^{_FIELD}(?:,{_FIELD})*$"

Row = tuple[int, dict[str, str]]  # a row's line number, and its values by column


@dataclass(frozen=True)
class RowBlock:
    """Rows read at once: ``table`` has a text column per header column ("" for an empty value, null for
    one the line does not reach) and ``line``, each row's line number."""

    table: pl.DataFrame

    def rows(self) -> Iterator[Row]:
        """The rows as read_csv_rows gives them."""
        for values in self.table.iter_rows(named=True):
            line = values.pop("line")
            yield line, values


def read_csv(stream: TextIO) -> Iterator[Row | RowBlock]:
    """The rows of an invitation CSV file, as blocks where the text allows it (see the module)."""
    first = stream.readline()
    if _NOT_IN_BLOCKS.search(first.removesuffix("\r\n")) or not re.match(_QUOTED_LINE, first.rstrip("\r\n")):
        yield from read_csv_rows(itertools.chain([first], stream))
        return
    header = check_header(next(csv.reader([first]), []))
    if len(set(header)) < len(header):  # a repeated column: its last value counts, as in the row path
        yield from _rows(csv.reader(stream), header, 1)
        return
    line = 1  # the last line read
    while block := stream.read(BLOCK_CHARS):
        if not block.endswith("\n"):
            block += stream.readline()
        text = block.replace("\r\n", "\n") if "\r" in block else block
        table = None if _NOT_IN_BLOCKS.search(text) else _table(text, header, line + 1)
        if table is None:
            yield from _rows(
                csv.reader(itertools.chain(io.StringIO(block, newline=""), stream)), header, line
            )
            return
        if table.height:
            yield RowBlock(table)
        line += text.count("\n") + (not text.endswith("\n"))


def _table(text: str, header: list[str], first_line: int) -> pl.DataFrame | None:
    """The block's rows (blank lines left out, as csv.reader does); None if a line has more values than
    the header has columns, or may hold a value longer than csv.field_size_limit() (the row path then
    names it)."""
    lines = (
        pl.DataFrame({"text": [text.removesuffix("\n")]})
        .select(pl.col("text").str.split("\n"))
        .explode("text")
        .with_row_index("line", offset=first_line)
        .filter(pl.col("text") != "")
    )
    width = len(header)
    widest = lines.select(
        pl.col("text").str.count_matches(",", literal=True).max().alias("commas"),
        pl.col("text").str.len_chars().max().alias("chars"),
    )
    if not lines.height:
        return lines.select(pl.col("line").cast(pl.Int64), *(pl.lit("").alias(name) for name in header))
    if widest["chars"][0] > csv.field_size_limit():
        return None
    if '"' in text:
        return _quoted_table(lines, header)
    if widest["commas"][0] >= width:
        return None
    fields = pl.col("text").str.split_exact(",", width - 1).struct.rename_fields(header)
    return lines.select(pl.col("line").cast(pl.Int64), fields).unnest("text")


def _quoted_table(lines: pl.DataFrame, header: list[str]) -> pl.DataFrame | None:
    """A block with quoted values, read by Polars' CSV reader where every line is one whole row."""
    if not lines["text"].str.contains(_QUOTED_LINE).all():
        return None
    unquoted = lines["text"].str.replace_all(r'"(?:[^"]|"")*"', "")
    count = unquoted.str.count_matches(",", literal=True) + 1  # values on each line
    if (count.max() or 0) > len(header):  # type: ignore[operator]
        return None
    # every line padded to the header's width: Polars takes the first line's as the file's
    padded = pl.concat_str(pl.col("text"), pl.lit(",").repeat_by(len(header) - count).list.join(""))
    try:
        table = pl.read_csv(
            lines.select(padded.str.join("\n")).item().encode(),
            has_header=False,
            schema=dict.fromkeys(header, pl.String),
            empty_string_is_null=False,
        )
    except pl.exceptions.PolarsError:
        return None
    if table.height != lines.height:
        return None
    # a short row's missing values are null, as the row reader pads them
    present = [pl.when(count > i).then(pl.col(name)).alias(name) for i, name in enumerate(header)]
    return table.select(lines["line"].cast(pl.Int64), *present)


def read_csv_rows(lines: Iterable[str]) -> Iterator[Row]:
    """(line number, row) pairs; the header is line 1. Unknown columns are an error, not ignored."""
    reader = csv.reader(lines)
    header = check_header(next(reader, []))
    yield from _rows(reader, header, 0)


def check_header(names: list[str]) -> list[str]:
    """The header's column names, stripped; InvalidInput if a column is unknown or none names a recipient."""
    header = [h.strip() for h in names]
    declared = {f.name for f in company_fields()}
    unknown = [h for h in header if h not in COLUMNS and h not in declared]
    if not header:
        raise InvalidInput.on("line 1", "the file is empty; expected a header row")
    if unknown:
        known = ", ".join([*COLUMNS, *sorted(declared)])
        raise InvalidInput.on("line 1", f"unknown column(s) {', '.join(unknown)}; known: {known}")
    if "email" not in header and "customer_id" not in header:
        raise InvalidInput.on("line 1", "a column email or customer_id is required")
    return header


def _rows(reader: _csv.Reader, header: list[str], before: int) -> Iterator[Row]:
    """The rows ``reader`` reads; its line numbers count from line ``before`` of the file."""
    width = len(header)
    done = before + reader.line_num  # the last line read whole: a row that cannot be read starts after it
    try:
        for values in reader:  # as csv.DictReader reads them, without its cost per row
            done = before + reader.line_num
            if len(values) != width:
                if not values:
                    continue  # a blank line
                if len(values) > width:
                    raise InvalidInput.on(f"line {done}", "more values than columns in the header")
                values += [None] * (width - len(values))  # type: ignore[list-item]
            yield done, dict(zip(header, values, strict=True))
    except csv.Error as error:  # e.g. a value longer than csv.field_size_limit()
        raise InvalidInput.on(f"line {done + 1}", f"not readable as CSV: {error}") from None
