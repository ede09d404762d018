"""Bulk invitations from CSV: one link per row, never twice, and all-or-nothing with line numbers."""

from __future__ import annotations

import io
import itertools
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, inspect, select
from sqlalchemy.exc import IntegrityError

from feedback.db import transaction
from feedback.errors import Gone, InvalidInput
from feedback.invitations import service
from feedback.invitations.plain import plain_row
from feedback.invitations.reading import read_csv, read_csv_rows
from feedback.invitations.service import NewLink, _clean_recipient, import_invitations, open_invitation
from feedback.metrics import rollups
from feedback.models import Invitation, SurveyStatus, invitation_rollups, utcnow
from feedback.models.context import CONTEXT_FIELDS
from feedback.responses.context import parse_context
from feedback.surveys.service import get_survey, set_status
from feedback.tokens import hash_token
from tests import factories

CSV = """\
email,customer_id,interaction_id,channel,department,team,agent,contractor,region,handle_time_s,wait_time_s,first_contact_resolved
ann@example.com,,T-1,phone,support,blue,Sam,Northwind,EU,300,45,yes
,C-77,T-2,chat,,red,Kim,,US,120,5,no
ann@example.com,,T-3,email,support,blue,Sam,,EU,,,
"""


def run_import(sessions, text: str, **options):  # type: ignore[no-untyped-def]
    links: list[NewLink] = []
    with transaction(sessions) as session:
        report = import_invitations(
            session,
            get_survey(session, "support-followup"),
            read_csv(io.StringIO(text)),
            base_url="https://fb.example",
            on_link=links.append,
            **options,
        )
    return report, links


def invitations(sessions) -> int:  # type: ignore[no-untyped-def]
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(Invitation)) or 0)


def test_each_row_gets_a_single_use_unguessable_link(sessions) -> None:
    factories.survey(sessions)
    report, links = run_import(sessions, CSV)
    assert (report.created, report.duplicates, report.rejected) == (3, 0, 0)
    assert [link.line for link in links] == [2, 3, 4]
    tokens = [link.link.removeprefix("https://fb.example/s/") for link in links]
    assert len(set(tokens)) == 3 and all(len(t) >= 32 for t in tokens)
    with sessions() as session:
        stored = session.scalars(select(Invitation).order_by(Invitation.id)).all()
        assert [i.token_hash for i in stored] == [hash_token(t) for t in tokens]  # only hashes are kept
        assert all(t not in i.token_hash for t, i in zip(tokens, stored, strict=True))
        first = stored[0]
        assert (first.channel, first.team, first.agent, first.contractor, first.region) == (
            "phone",
            "blue",
            "Sam",
            "Northwind",
            "EU",
        )
        assert (first.handle_time_s, first.wait_time_s, first.first_contact_resolved) == (300, 45, True)
        assert stored[1].customer_id == "C-77" and stored[1].first_contact_resolved is False


def test_reimporting_the_same_file_creates_nothing(sessions) -> None:
    factories.survey(sessions)
    run_import(sessions, CSV)
    report, links = run_import(sessions, CSV)
    assert (report.created, report.duplicates, links) == (0, 3, [])
    assert invitations(sessions) == 3


def test_a_row_repeated_chunks_apart_in_one_file_is_invited_once(sessions, monkeypatch) -> None:
    """Rows are stored a chunk at a time; a repeat is found in the database, not in a set of every key."""
    monkeypatch.setattr(service, "_CHUNK", 2)
    factories.survey(sessions)
    emails = ["a@example.com", "b@example.com", "c@example.com", "a@example.com", "d@example.com"]
    emails += ["B@example.com", "e@example.com", "e@example.com", "c@example.com"]
    report, links = run_import(sessions, "email\n" + "\n".join(emails) + "\n")
    assert (report.created, report.duplicates) == (5, 4)
    assert [link.line for link in links] == [2, 3, 4, 6, 8]
    assert invitations(sessions) == 5
    with sessions() as session:
        stored = session.scalars(select(Invitation.token_hash).order_by(Invitation.id)).all()
    assert stored == [hash_token(link.link.rsplit("/", 1)[1]) for link in links]
    assert len(set(stored)) == 5


def test_rollups_of_a_chunked_import_with_repeats_and_a_reimport_equal_a_recount(
    sessions, monkeypatch
) -> None:
    """The import sums its rollup counts over all its chunks and stores them once, at its end: the rows
    repeated in the file and those of a re-import are not counted, as a recount from the rows shows."""
    monkeypatch.setattr(service, "_CHUNK", 3)
    factories.survey(sessions)
    factories.department(sessions, "sales", "Sales")
    header = "email,channel,department,product,team,region\n"
    rows = [
        f"c{n % 9}@example.com,{('phone', 'chat')[n % 2]},{('support', 'sales', '')[n % 3]},"
        f"{('router', 'tv')[n % 5 // 3]},t{n % 4},{('EU', 'US', '')[n % 3]}\n"
        for n in range(14)
    ]
    first, _ = run_import(sessions, header + "".join(rows))
    again, _ = run_import(sessions, header + "".join([*rows[5:], "new@example.com,chat,sales,tv,t1,EU\n"]))
    assert (first.created, first.duplicates, again.created, again.duplicates) == (9, 5, 1, 9)

    def counted() -> list[Any]:
        with sessions() as session:
            return sorted(session.execute(select(invitation_rollups)).all(), key=repr)

    kept = counted()
    assert sum(row.invitations for row in kept if row.grain == "team") == 10  # a grain's days count each once
    with transaction(sessions) as session:
        rollups.rebuild(session.connection())
    assert kept == counted()


def test_a_link_token_colliding_with_a_stored_one_fails_the_import_and_stores_nothing(
    sessions, monkeypatch
) -> None:
    """Only a repeated recipient is skipped as a duplicate; a repeated token hash (never expected of 24
    random bytes) is refused by the database, and the whole import with it."""
    factories.survey(sessions)
    _, stored = run_import(sessions, emails(1))
    token = stored[0].link.rsplit("/", 1)[1]
    monkeypatch.setattr(service, "new_tokens", lambda count: iter([(token, hash_token(token))] * count))
    monkeypatch.setattr(
        service, "new_token_lists", lambda count: ([token] * count, [hash_token(token)] * count)
    )
    with pytest.raises(IntegrityError):
        run_import(sessions, emails(3, start=1))
    assert invitations(sessions) == 1


def test_a_bad_row_rejects_the_whole_file_with_line_numbers(sessions) -> None:
    factories.survey(sessions)
    bad = CSV + "not-an-email,,T-9,fax,sales,,,,,-5,,perhaps\n"
    with pytest.raises(InvalidInput) as info:
        run_import(sessions, bad)
    fields = {e.field for e in info.value.errors}
    assert {
        "line 5: email",
        "line 5: department",
        "line 5: handle_time_s",
        "line 5: first_contact_resolved",
    } <= fields
    assert invitations(sessions) == 0


def test_skip_invalid_stores_the_good_rows_and_reports_the_bad(sessions) -> None:
    factories.survey(sessions)
    report, links = run_import(sessions, CSV + ",,,,,,,,,,,\n", skip_invalid=True)
    assert (report.created, report.rejected) == (3, 1)
    assert report.errors[0].field == "line 5: email"
    assert len(links) == 3


def indexes(connection) -> list[tuple[str, tuple[str, ...], bool]]:  # type: ignore[no-untyped-def]
    """The invitations table's indexes as the database reports them: name, columns, unique."""
    found = inspect(connection).get_indexes("invitations")
    return sorted((i["name"], tuple(i["column_names"]), bool(i["unique"])) for i in found)


def emails(count: int, start: int = 0) -> str:
    return "email,customer_id\n" + "".join(f"c{n}@example.com,C{n}\n" for n in range(start, start + count))


@pytest.fixture
def small_chunks(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """An import of a few rows behaves as a large one: chunks of 2, indexes deferred after 4 rows."""
    monkeypatch.setattr(service, "_CHUNK", 2)
    monkeypatch.setattr(service, "DEFER_INDEXES_AFTER", 4)


@pytest.mark.usefixtures("small_chunks")
def test_a_large_import_keeps_every_index_and_readers_never_see_one_missing(sessions, engine) -> None:
    """SQLite: the indexes the import does not read are dropped inside its transaction and re-created
    before the commit; a reader meanwhile sees the table as committed, indexes included, and opens links."""
    factories.survey(sessions)
    _, first = run_import(sessions, emails(1))
    with sessions() as session:
        committed = indexes(session.connection())
    assert {"ix_invitations_email", "ix_invitations_customer_id"} <= {name for name, _, _ in committed}
    during: list[tuple[list[tuple[str, tuple[str, ...], bool]], list[tuple[str, tuple[str, ...], bool]]]] = []
    links: list[NewLink] = []
    with transaction(sessions) as session:

        def check(link: NewLink) -> None:
            links.append(link)
            if len(links) == 8:  # past the first 4 rows: a large import by now
                with sessions() as reader:
                    _, invitation = open_invitation(reader, first[0].link.rsplit("/", 1)[1])
                    assert invitation.email == "c0@example.com"
                    during.append((indexes(session.connection()), indexes(reader.connection())))

        report = import_invitations(
            session,
            get_survey(session, "support-followup"),
            read_csv_rows(io.StringIO(emails(12, start=1))),
            base_url="https://fb.example",
            on_link=check,
        )
    assert report.created == 12
    ((in_import, seen_by_reader),) = during
    assert seen_by_reader == committed
    if engine.dialect.name == "sqlite":  # PostgreSQL keeps them: DROP INDEX would lock links out meanwhile
        assert in_import == []  # the token hash's too; the dedup key's constraint (not listed) stays
        assert ("ix_invitations_token_hash", ("token_hash",), True) in committed
    else:
        assert in_import == committed
    with sessions() as session:
        assert indexes(session.connection()) == committed
        assert session.scalar(select(func.count()).where(Invitation.email == "c7@example.com")) == 1
        taken = session.scalars(select(Invitation.token_hash)).all()
        survey_id = session.scalars(select(Invitation.survey_id)).first()
    assert len(set(taken)) == 13
    with pytest.raises(IntegrityError), transaction(sessions) as session:  # a token's hash is still unique
        session.add(Invitation(survey_id=survey_id, token_hash=taken[5], dedup_key="another recipient"))


@pytest.mark.usefixtures("small_chunks")
@pytest.mark.parametrize("failure", ["a bad row at the end", "the links cannot be written"])
def test_a_large_import_failing_midway_leaves_the_indexes_and_no_rows(sessions, failure: str) -> None:
    factories.survey(sessions)
    with sessions() as session:
        before = indexes(session.connection())
    text = emails(20) + ("not-an-email,\n" if failure == "a bad row at the end" else "")
    handed: list[NewLink] = []

    def keep(link: NewLink) -> None:
        if failure == "the links cannot be written" and len(handed) == 16:
            raise OSError(28, "No space left on device")
        handed.append(link)

    expected = InvalidInput if failure == "a bad row at the end" else OSError
    with pytest.raises(expected), transaction(sessions) as session:
        import_invitations(
            session,
            get_survey(session, "support-followup"),
            read_csv(io.StringIO(text)),
            base_url="https://fb.example",
            on_link=keep,
        )
    assert invitations(sessions) == 0
    with sessions() as session:
        assert indexes(session.connection()) == before
    report, _ = run_import(sessions, emails(20))  # and the same rows import afterwards
    assert report.created == 20


@pytest.mark.usefixtures("small_chunks")
def test_a_token_clash_found_when_the_deferred_index_is_rebuilt_stores_nothing(sessions, monkeypatch) -> None:
    """SQLite checks a large import's token hashes when it re-creates their unique index, before the commit
    (PostgreSQL as each row is stored). Random tokens never clash; if two did, the import fails whole."""
    factories.survey(sessions)
    with sessions() as session:
        before = indexes(session.connection())
    made: list[tuple[str, str]] = []
    real = service.new_token_lists

    def clashing(count: int, nbytes: int = 24) -> tuple[list[str], list[str]]:
        tokens, hashes = real(count, nbytes)
        made.extend(zip(tokens, hashes, strict=True))
        if len(made) == 12:  # the 12th row (chunks of 2; the indexes deferred after 4) gets the first's token
            tokens[-1], hashes[-1] = made[0]
        return tokens, hashes

    monkeypatch.setattr(service, "new_token_lists", clashing)
    with pytest.raises(Exception, match=r"(?i)unique") as failure, transaction(sessions) as session:
        import_invitations(
            session,
            get_survey(session, "support-followup"),
            read_csv(io.StringIO(emails(12))),
            base_url="https://fb.example",
            on_link=lambda link: None,
        )
    assert "token_hash" in str(failure.value)
    assert len(made) == 12
    assert invitations(sessions) == 0
    with sessions() as session:
        assert indexes(session.connection()) == before


def test_a_small_import_into_a_larger_table_updates_the_indexes_as_it_goes(
    sessions, engine, monkeypatch
) -> None:
    """Re-creating an index reads the whole table: not worth it for an import smaller than the table."""
    monkeypatch.setattr(service, "_CHUNK", 2)
    monkeypatch.setattr(service, "DEFER_INDEXES_AFTER", 4)
    factories.survey(sessions)
    run_import(sessions, emails(30))
    with sessions() as session:
        committed = indexes(session.connection())
    during: list[list[tuple[str, tuple[str, ...], bool]]] = []
    with transaction(sessions) as session:

        def check(link: NewLink) -> None:
            during.append(indexes(session.connection()))

        import_invitations(
            session,
            get_survey(session, "support-followup"),
            read_csv_rows(io.StringIO(emails(10, start=30))),
            base_url="https://fb.example",
            on_link=check,
        )
    assert len(during) == 10 and all(seen == committed for seen in during)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("email,shoe_size\na@example.com,9\n", "unknown column"),
        ("channel\nphone\n", "email or customer_id"),
    ],
)
def test_bad_headers_are_explained(sessions, text: str, message: str) -> None:
    factories.survey(sessions)
    with pytest.raises(InvalidInput) as info:
        run_import(sessions, text)
    assert message in info.value.message


def test_expiry_and_closed_surveys(sessions) -> None:
    factories.survey(sessions)
    deadline = utcnow() + timedelta(days=7)
    run_import(sessions, "email\nann@example.com\n", expires_at=deadline)
    with sessions() as session:
        expires = session.scalar(select(Invitation.expires_at))
        assert expires is not None and abs((expires - deadline).total_seconds()) < 1
    with pytest.raises(InvalidInput):
        run_import(sessions, "email,expires_at\nbob@example.com,2001-01-01\n")
    with transaction(sessions) as session:
        set_status(session, "support-followup", SurveyStatus.CLOSED)
    with pytest.raises(Gone):
        run_import(sessions, "email\ncy@example.com\n")


def test_fast_path_cleans_every_plain_row_exactly_as_the_checked_path() -> None:
    """plain_row (the import's fast path) must give what _clean_recipient + parse_context give, or defer."""
    departments = {"support": 1, "delivery": 2}
    choices = {
        "email": [None, "", " ann@example.com ", "not-an-email", "a@b.c", "x" * 199 + "@e.co"],
        "customer_id": [None, "", " C-1 ", "C" * 201],
        "interaction_id": [None, "T-9"],
        "department": [None, "", "delivery", " support ", "nowhere"],
        "channel": [None, "", " phone ", "p" * 300],
        "handle_time_s": [None, "", "300", " 300 ", "0042", "9999999", "10000001", "-5", "12.5", "\u0663"],
        "first_contact_resolved": [None, "", "yes", "No", "1", "maybe"],
        "expires_at": [None, "", "2030-01-01"],
        "language": [None, " pt ", "Portuguese"],
    }
    deferred = 0
    for values in itertools.product(*choices.values()):
        row = {k: v for k, v in zip(choices, values, strict=True) if v is not None}
        plain = plain_row(row, departments, 1)
        recipient, errors = _clean_recipient(row, "")
        context, context_errors = parse_context(row, departments)
        if plain is None:
            deferred += 1
            continue
        assert not errors and not context_errors, row
        expected = dict.fromkeys(CONTEXT_FIELDS)
        expected["department_id"] = 1
        expected.update(context)
        assert plain == (
            recipient["email"],
            recipient["customer_id"],
            recipient["interaction_id"],
            recipient["language"],
            *expected.values(),
        ), row
        assert recipient["expires_at"] is None
    assert 0 < deferred < len(list(itertools.product(*choices.values())))
