"""Outcome events and identity maps in: files (CSV, Parquet), the API, re-imports, erasure."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from sqlalchemy import func, select

from feedback.db import transaction
from feedback.errors import InvalidInput
from feedback.models import CustomerIdentity, Invitation, OutcomeEvent
from feedback.outcomes.events import EVENT_FIELDS
from feedback.outcomes.importer import import_events, import_identities, parse_mapping
from feedback.privacy.erase import erase_customer
from feedback.privacy.identifiers import IdentifierKind
from tests import factories
from tests.factories import bearer

HEADER = "customer_id,occurred_at,kind,amount,currency,reference\n"
GOOD = (
    "c1,2026-10-01T10:00:00Z,order,49.90,EUR,o-1\n"
    "c1,2026-11-02,order,10,,o-2\n"
    "c2,2026-11-03T08:00:00+01:00,renewal,120,EUR,\n"
    "c3,1767225600,cancellation,,,\n"
)


def _count(sessions: Any, model: Any) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)))


def _write(tmp_path: Path, text: str, name: str = "events.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_import_stores_each_event_once_and_a_reimport_creates_nothing(sessions, tmp_path) -> None:
    path = _write(tmp_path, HEADER + GOOD)
    first = import_events(sessions, path)
    assert (first.rows, first.stored, first.duplicates, first.rejected) == (4, 4, 0, 0)
    again = import_events(sessions, path)
    assert (again.stored, again.duplicates) == (0, 4)
    # The same order (same reference) with another amount in a later file is the same event.
    changed = _write(tmp_path, HEADER + "c1,2026-10-01T10:00:00Z,order,50.00,EUR,o-1\n", "changed.csv")
    assert import_events(sessions, changed).stored == 0
    assert _count(sessions, OutcomeEvent) == 4
    with sessions() as session:
        renewal = session.scalars(select(OutcomeEvent).where(OutcomeEvent.kind == "renewal")).one()
        assert renewal.occurred_at == datetime(2026, 11, 3, 7, tzinfo=UTC) and renewal.amount == 120
        cancel = session.scalars(select(OutcomeEvent).where(OutcomeEvent.kind == "cancellation")).one()
        assert cancel.amount is None and cancel.occurred_at == datetime(2026, 1, 1, tzinfo=UTC)


def test_a_bad_row_rejects_the_file_naming_line_and_column_and_stores_nothing(sessions, tmp_path) -> None:
    text = (
        "cust,when,kind,amount,currency,reference\n"
        "c1,2026-10-01,order,49.90,EUR,o-1\n"
        "c2,yesterday,order,1,EUR,o-2\n"
        ",2026-10-01,order,12;5,euro,o-3\n"
        "c4,2026-10-01,order\n"
    )
    path = _write(tmp_path, text)
    mapping = parse_mapping(["customer_id=cust", "occurred_at=when"], EVENT_FIELDS)
    with pytest.raises(InvalidInput) as caught:
        import_events(sessions, path, mapping=mapping)
    fields = {(e.field, e.message.split(":")[0]) for e in caught.value.errors}
    assert {f for f, _ in fields} == {
        "line 3: when",
        "line 4: cust",
        "line 4: amount",
        "line 4: currency",
        "line 5",
    }
    assert _count(sessions, OutcomeEvent) == 0
    skipped = import_events(sessions, path, mapping=mapping, skip_invalid=True)
    assert (skipped.stored, skipped.rejected) == (1, 3)
    assert _count(sessions, OutcomeEvent) == 1


def test_parquet_import_streams_in_chunks_and_names_rows(sessions, tmp_path) -> None:
    n = 12_000
    frame = pl.DataFrame(
        {
            "customer_id": [f"c{i % 997}" for i in range(n)],
            "occurred_at": [datetime(2026, 1, 1, tzinfo=UTC)] * n,
            "kind": ["order"] * n,
            "amount": [float(i) for i in range(n)],
            "reference": [f"o-{i}" for i in range(n)],
        }
    )
    path = tmp_path / "events.parquet"
    frame.write_parquet(path, row_group_size=1000)
    chunks: list[int] = []
    report = import_events(sessions, path, on_chunk=lambda r: chunks.append(r.stored))
    assert report.stored == n and len(chunks) == 3  # committed in chunks of 5,000
    assert import_events(sessions, path).stored == 0
    bad = frame.head(3).with_columns(pl.Series("kind", ["order", "Not a kind!", "order"]))
    bad_path = tmp_path / "bad.parquet"
    bad.write_parquet(bad_path)
    with pytest.raises(InvalidInput) as caught:
        import_events(sessions, bad_path)
    assert [e.field for e in caught.value.errors] == ["row 2: kind"]


def test_identity_map_import_and_conflicts(sessions, tmp_path) -> None:
    path = _write(tmp_path, "customer_id,person_id\norder-1,p1\norder-2,p1\norder-3,p2\n", "ids.csv")
    assert import_identities(sessions, path).stored == 3
    assert import_identities(sessions, path).duplicates == 3
    other = _write(tmp_path, "customer_id,person_id\norder-1,p9\norder-4,p2\n", "other.csv")
    report = import_identities(sessions, other, skip_invalid=True)
    assert report.stored == 1 and [e.field for e in report.errors] == ["line 2: customer_id"]
    assert _count(sessions, CustomerIdentity) == 4


def test_api_batch_is_all_or_nothing_and_idempotent(client, database_url) -> None:
    from feedback.db import make_engine, make_sessionmaker

    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    headers = bearer(factories.token(sessions))
    events = [
        {"customer_id": "c1", "occurred_at": "2026-10-01T10:00:00Z", "kind": "order", "amount": 20},
        {"customer_id": "c1", "occurred_at": "2026-10-05T10:00:00Z", "kind": "renewal", "reference": "r-1"},
    ]
    bad = [*events, {"customer_id": "c2", "occurred_at": "soon", "kind": "order", "amount": "a lot"}]
    answer = client.post("/api/outcomes/events", json={"events": bad}, headers=headers)
    assert answer.status_code == 422
    assert {e["field"] for e in answer.json()["errors"]} == {"events[2].occurred_at", "events[2].amount"}
    assert _count(sessions, OutcomeEvent) == 0
    first = client.post("/api/outcomes/events", json={"events": events}, headers=headers)
    retry = client.post("/api/outcomes/events", json={"events": events}, headers=headers)
    assert first.status_code == retry.status_code == 200
    assert first.json() == {"received": 2, "stored": 2, "duplicates": 0}
    assert retry.json() == {"received": 2, "stored": 0, "duplicates": 2}
    assert client.post("/api/outcomes/events", json={"events": events}).status_code == 401
    ids = {"identities": [{"customer_id": "c1", "person_id": "p1"}]}
    assert client.post("/api/outcomes/identities", json=ids, headers=headers).json()["stored"] == 1
    clash = {"identities": [{"customer_id": "c1", "person_id": "p2"}]}
    answer = client.post("/api/outcomes/identities", json=clash, headers=headers)
    assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "identities[0].customer_id"
    engine.dispose()


def test_erasure_removes_every_id_of_the_person_and_keeps_others(sessions, tmp_path) -> None:
    factories.survey(sessions)
    factories.invite(
        sessions,
        [
            {"customer_id": "order-2", "email": "ann@example.com"},
            {"customer_id": "bob", "email": "bob@example.com"},
        ],
    )
    import_identities(
        sessions, _write(tmp_path, "customer_id,person_id\norder-1,ann\norder-2,ann\nb-1,bob\n", "ids.csv")
    )
    events = (
        "order-1,2026-10-01,order,10,,a\norder-2,2026-10-02,order,20,,b\nann,2026-10-03,renewal,5,,c\n"
        "bob,2026-10-04,order,30,,d\nb-1,2026-10-05,order,40,,e\n"
    )
    import_events(sessions, _write(tmp_path, HEADER + events))
    with transaction(sessions) as session:
        result = erase_customer(
            session, b"k" * 32, IdentifierKind.CUSTOMER_ID, "order-1", requested_by="t", via="cli"
        )
    assert result.counts["outcome_events"] == 3 and result.counts["customer_identities"] == 2
    assert result.counts["invitations"] == 1  # order-2's invitation: another id of the same person
    with sessions() as session:
        left = set(session.scalars(select(OutcomeEvent.customer_id)))
        assert left == {"bob", "b-1"}
        assert set(session.scalars(select(CustomerIdentity.customer_id))) == {"b-1"}
        assert set(session.scalars(select(Invitation.customer_id))) == {"bob"}
    # By e-mail: the invitation's customer id and, through the map, the person's other ids.
    with transaction(sessions) as session:
        by_mail = erase_customer(
            session, b"k" * 32, IdentifierKind.EMAIL, "BOB@example.com", requested_by="t", via="cli"
        )
    assert by_mail.counts["outcome_events"] == 2 and by_mail.counts["customer_identities"] == 1
    assert _count(sessions, OutcomeEvent) == 0 and _count(sessions, CustomerIdentity) == 0
