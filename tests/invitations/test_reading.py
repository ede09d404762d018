"""An invitation file read a block of rows at a time, and checked a column at a time, gives what reading and
checking it row by row gives: the same rows and line numbers, the same errors, the same stored invitations."""

from __future__ import annotations

import io
import itertools
import random
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import polars as pl
import pytest
from sqlalchemy import select

from feedback.db import transaction
from feedback.errors import InvalidInput
from feedback.invitations import reading, service
from feedback.invitations.plain import PLAIN_VALUES, plain_block, plain_row
from feedback.invitations.reading import RowBlock, read_csv, read_csv_rows
from feedback.invitations.service import NewLink, import_invitations
from feedback.metrics import rollups
from feedback.models import Invitation, invitation_rollups
from feedback.models.context import CONTEXT_FIELDS
from feedback.surveys.service import get_survey
from tests import factories

HEADER = "email,customer_id,interaction_id,department,channel,team,handle_time_s,first_contact_resolved"


def rows_of(items: Any) -> list[tuple[int, dict[str, Any]]]:
    return list(itertools.chain.from_iterable(i.rows() if isinstance(i, RowBlock) else [i] for i in items))


def both(text: str) -> tuple[list[Any], list[Any]]:
    return rows_of(read_csv(io.StringIO(text, newline=""))), list(
        read_csv_rows(io.StringIO(text, newline=""))
    )


def random_file(rng: random.Random, count: int, odd: float = 0.5) -> str:
    """Rows with blank lines, short rows, padded, empty, quoted and (with probability ``odd`` for a value)
    bad values, CRLF or LF line ends."""
    end = rng.choice(["\n", "\r\n"])
    quoted = rng.random() < 0.3
    lines = [HEADER]

    def pick(usual: list[str], unusual: list[str]) -> str:
        return rng.choice(unusual if rng.random() < odd else usual)

    for n in range(count):
        shape = rng.random()
        if shape < 0.03:
            lines.append("")
            continue
        values = [
            pick([f"c{n % 150}@example.com"], ["not-an-email", "", f" C{n % 150}@Example.com "]),
            pick(["", f"K{n % 7}"], [" K1 "]),
            pick(["", f"T-{n % 200}"], [" T-1"]),
            pick(["", "support", "sales"], [" sales ", "nowhere"]),
            pick(["", "phone", "chat"], [" chat"]),
            pick(["", "t1", "t2"], ["x" * 130]),
            pick(["", "300", "42"], [" 42 ", "-5", "12.5"]),
            pick(["", "yes", "No"], ["maybe", " TRUE "]),
        ]
        if quoted:  # some values quoted, one with a comma and a doubled quote in it
            values = [f'"{v}"' if rng.random() < 0.5 else v for v in values]
            values[4] = '"chat, then ""phone"""' if rng.random() < 0.1 else values[4]
        if shape < 0.06:
            values = values[: rng.randrange(1, len(values))]  # a short row: the rest is missing
        lines.append(",".join(values))
    return end.join(lines) + rng.choice(["", end])


@pytest.mark.parametrize("block_chars", [37, 200, 1 << 20])
def test_blocks_give_the_rows_and_line_numbers_the_row_reader_gives(monkeypatch, block_chars: int) -> None:
    monkeypatch.setattr(reading, "BLOCK_CHARS", block_chars)
    rng = random.Random(block_chars)
    for _ in range(20):
        text = random_file(rng, rng.randrange(0, 60))
        blocks, rows = both(text)
        assert blocks == rows
        assert any(isinstance(i, RowBlock) for i in read_csv(io.StringIO(text, newline=""))) == (
            len(rows) > 0
        )


@pytest.mark.parametrize(
    "tail",
    [
        'c9@example.com,"two\nlines",T-9,,,,,\nc10@example.com,,,,,,,\n',  # a value over two lines
        'c9@example.com,K"9,T-9,,,,,\nc10@example.com,,,,,,,\n',  # a quote inside a value without quotes
        '"c9@example.com"x,,T-9,,,,,\n',  # text after a quoted value
        "c9@example.com,,T-9,,,,,\rc10@example.com,,,,,,,\n",  # a lone carriage return ends a line
        "c9@example.com,K\x1f,T-9,,,,,\n",  # a character Python strips as a blank and Polars does not
    ],
)
def test_text_a_block_cannot_hold_is_read_row_by_row_from_there(monkeypatch, tail: str) -> None:
    monkeypatch.setattr(reading, "BLOCK_CHARS", 64)
    head = HEADER + "\n" + "".join(f"c{n}@example.com,,T-{n},,,,,\n" for n in range(8))
    blocks, rows = both(head + tail)
    assert blocks == rows and len(rows) >= 9
    assert isinstance(next(read_csv(io.StringIO(head + tail, newline=""))), RowBlock)  # blocks up to there


def test_wholly_quoted_values_are_read_in_blocks_as_the_row_reader_reads_them(monkeypatch) -> None:
    """Exports that quote every value, or values with commas and quotes in them, stay on the fast path."""
    monkeypatch.setattr(reading, "BLOCK_CHARS", 120)
    rows = [
        '"c1@example.com","K1","T-1","support","phone, then chat","t1","300","yes"',
        '"c2@example.com","","T-2","","say ""hi""","","",""',
        'c3@example.com,"",,sales,"",t2',
        '"c4@example.com",K4',
        "",
        '"","c5","T-5",,,,,',
    ]
    text = '"email","customer_id","interaction_id","department","channel","team","handle_time_s",'
    text += '"first_contact_resolved"\r\n' + "\r\n".join(rows * 5) + "\r\n"
    blocks, by_row = both(text)
    assert blocks == by_row and len(by_row) == 25
    assert all(isinstance(item, RowBlock) for item in read_csv(io.StringIO(text, newline="")))
    assert by_row[1][1]["channel"] == 'say "hi"' and by_row[0][1]["channel"] == "phone, then chat"


def test_a_row_with_too_many_values_is_named_by_its_line_either_way(monkeypatch) -> None:
    monkeypatch.setattr(reading, "BLOCK_CHARS", 50)
    text = (
        HEADER
        + "\n"
        + "".join(f"c{n}@example.com,,T-{n},,,,,\n" for n in range(6))
        + "a@b.co,1,2,3,4,5,6,7,8\n"
    )
    messages = []
    for read in (read_csv, read_csv_rows):
        with pytest.raises(InvalidInput) as info:
            rows_of(read(io.StringIO(text)))
        messages.append(info.value.errors)
    assert messages[0] == messages[1]
    assert messages[0][0].field == "line 8"  # the header is line 1


def test_a_repeated_column_is_read_as_the_row_reader_reads_it() -> None:
    blocks, rows = both("email,channel,channel\na@example.com,phone,chat\n")
    assert blocks == rows == [(2, {"email": "a@example.com", "channel": "chat"})]


def test_the_column_checks_clean_every_plain_row_exactly_as_the_row_checks() -> None:
    """plain_block marks a row plain only where plain_row does, with the same values; it may leave more
    rows to the full checks (seconds written other than as ASCII digits alone), which clean them the same."""
    departments = {"support": 1, "delivery": 2}
    choices = {
        "email": [None, "", " ann@example.com ", "not-an-email", "x" * 199 + "@e.co", "a\u00a0@b.co"],
        "customer_id": [None, " C-1 ", "C" * 201],
        "interaction_id": [None, "\u2003T-10\u2003"],
        "department": [None, "delivery", " support ", "nowhere"],
        "channel": [None, " phone ", "p" * 65],
        "handle_time_s": [None, "", "300", " 300 ", "0042", "9999999", "10000001", "-5", "12.5", "\u0663"],
        "first_contact_resolved": [None, "", "yes", " No ", "maybe", "TRUE"],
        "expires_at": [None, "", "2030-01-01"],
        "language": [None, " pt ", "pt-BR", "Portuguese"],
    }
    combos = [dict(zip(choices, values, strict=True)) for values in itertools.product(*choices.values())]
    table = pl.DataFrame(combos, schema={name: pl.String for name in choices})
    checked = plain_block(table, departments, 7)
    assert checked.columns == ["plain", *PLAIN_VALUES]
    plain_by_block = 0
    for row, ok, values in zip(combos, checked["plain"], checked.drop("plain").rows(), strict=True):
        expected = plain_row(row, departments, 7)
        if ok:
            plain_by_block += 1
            assert values == expected, row
        else:
            assert expected is None or row["handle_time_s"] in (" 300 ", "\u0663"), row  # not digits alone
    assert 0 < plain_by_block < len(combos)


def test_rollup_counts_of_a_table_equal_those_of_its_rows() -> None:
    rng = random.Random(5)
    names = rollups.INVITATION_CONTEXT
    table = pl.DataFrame(
        [
            {"department_id": rng.choice([None, 1, 2])}
            | {n: rng.choice([None, "a", "b", "c"]) for n in names[1:]}
            for _ in range(300)
        ],
        schema={"department_id": pl.Int64} | {n: pl.String for n in names[1:]},
    )
    at = datetime(2026, 12, 7, 23, 30, tzinfo=UTC)
    by_table: Counter[rollups.Key] = Counter()
    rollups.invitation_days_of(table, at, 4, into=by_table)
    combos = Counter((at, 4, *row) for row in table.rows())
    assert by_table == rollups.invitation_days(combos)


def test_an_import_read_in_blocks_stores_what_one_read_row_by_row_stores(sessions, monkeypatch) -> None:
    """The same file, with repeats, bad rows (skipped) and rows only the full checks accept, imported once
    through each reader into its own survey: the same invitations, links, report and rollup counts."""
    monkeypatch.setattr(reading, "BLOCK_CHARS", 300)
    monkeypatch.setattr(service, "_CHUNK", 7)
    batches = []
    take_batch = service._Import.take_batch
    monkeypatch.setattr(
        service._Import, "take_batch", lambda run, batch: batches.append(batch) or take_batch(run, batch)
    )
    factories.survey(sessions)
    factories.survey(sessions, slug="other")
    factories.department(sessions, "sales", "Sales")
    text = random_file(random.Random(11), 400, odd=0.01)
    results = {}
    for slug, read in (("support-followup", read_csv), ("other", read_csv_rows)):
        links: list[NewLink] = []
        with transaction(sessions) as session:
            report = import_invitations(
                session,
                get_survey(session, slug),
                read(io.StringIO(text, newline="")),
                base_url="https://fb.example",
                on_link=links.append,
                skip_invalid=True,
            )
        with sessions() as session:
            survey_id = get_survey(session, slug).id
            key = invitation_rollups.c
            columns = [
                getattr(Invitation, name) for name in ("dedup_key", "email", "customer_id", *CONTEXT_FIELDS)
            ]
            stored = session.execute(
                select(*columns).where(Invitation.survey_id == survey_id).order_by(Invitation.id)
            )
            counted = [key.grain, key.day, key.department_id, key.channel, key.facet, key.invitations]
            counts = session.execute(
                select(*counted).where(key.survey_id == survey_id).order_by(*counted)
            ).all()
            results[slug] = (
                (report.created, report.duplicates, report.rejected, report.errors),
                [link[:4] for link in links],
                stored.all(),
                counts,
            )
    blocks, rows = results["support-followup"], results["other"]
    assert blocks[0][0] > 100 and blocks[0][1] > 0 and blocks[0][2] > 0  # the file has all three kinds
    assert len(batches) > 10  # blocks of plain rows, checked a column at a time
    assert blocks == rows


def test_rollups_counted_a_block_at_a_time_equal_a_recount(sessions, monkeypatch) -> None:
    """Chunks of plain blocks count their rollups from the blocks' columns; a re-import of part of the file
    (stored rows skipped) counts the new rows only. Both equal a recount from the stored rows."""
    monkeypatch.setattr(reading, "BLOCK_CHARS", 300)
    monkeypatch.setattr(service, "_CHUNK", 20)
    factories.survey(sessions)
    factories.department(sessions, "sales", "Sales")
    text = random_file(random.Random(3), 300, odd=0)
    half = HEADER + "\n" + "\n".join(text.splitlines()[150:]) + "\nnew@example.com,,,sales,chat,t9,,\n"

    def counted() -> list[Any]:
        with sessions() as session:
            return sorted(session.execute(select(invitation_rollups)).all(), key=repr)

    for content in (text, half):
        with transaction(sessions) as session:
            survey = get_survey(session, "support-followup")
            import_invitations(session, survey, read_csv(io.StringIO(content)), base_url="b", on_link=len)
        kept = counted()
        assert sum(row.invitations for row in kept) > 0
        with transaction(sessions) as session:
            rollups.rebuild(session.connection())
        assert kept == counted()
