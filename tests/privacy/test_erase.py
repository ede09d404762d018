"""Erasing one customer: every table holding them or their words, one transaction, a record without them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from feedback.cli import main
from feedback.db import transaction
from feedback.models import (
    Alert,
    Answer,
    Cause,
    CauseAssignment,
    DigestRun,
    ErasureRequest,
    Invitation,
    Mention,
    Response,
    Role,
)
from feedback.privacy import erase as erase_module
from feedback.privacy.erase import erase_customer
from feedback.privacy.identifiers import IdentifierKind
from tests import factories
from tests.factories import bearer
from tests.privacy.data import as_quoted, world

KEY = b"k" * 32
NOW = datetime.now(UTC).replace(microsecond=0)


def _everything(session: Any) -> str:
    """Every text column of every table that may hold a customer's words, as one string."""
    parts: list[Any] = []
    parts += (
        session.scalars(select(Invitation.email)).all()
        + session.scalars(select(Invitation.customer_id)).all()
    )
    parts += session.scalars(select(Answer.text)).all()
    parts += [
        m for row in session.execute(select(Mention.author, Mention.text, Mention.text_norm)) for m in row
    ]
    parts += [json.dumps(c) for row in session.execute(select(Cause.verbatims, Cause.examples)) for c in row]
    for run in session.scalars(select(DigestRun)):
        parts += [json.dumps(run.content), run.html, run.text]
    for alert in session.scalars(select(Alert)):
        parts += [json.dumps(alert.detail), alert.html, alert.text]
    parts += [json.dumps(r.counts) + r.identifier_hash for r in session.scalars(select(ErasureRequest))]
    return "\n".join(str(p) for p in parts if p is not None)


def _count(session: Any, model: Any) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_erase_by_email_removes_the_customer_everywhere_and_keeps_others(sessions) -> None:
    w = world(sessions, NOW)
    with transaction(sessions) as session:
        result = erase_customer(
            session, KEY, IdentifierKind.EMAIL, " JANE@example.COM ", requested_by="cli ada", via="cli"
        )
    assert result.counts["invitations"] == 2 and result.counts["responses"] == 2
    assert result.counts["answers"] == 3 and result.counts["cause_assignments"] == 1
    assert result.counts["mentions"] == 0  # her post is under a handle, not her e-mail
    assert result.counts["causes"] == 1 and result.counts["digest_runs"] == 1 and result.counts["alerts"] == 1
    assert result.counts["answers_citing_email"] == 1  # Bob wrote her address
    with sessions() as session:
        stored = _everything(session)
        assert "jane@example.com" not in stored.lower() and "Agent hung up" not in stored
        assert as_quoted(w["jane_words"]) not in stored
        assert "[quote removed]" in stored
        # Bob's response, answer and quotes stay (his text only loses her address)
        assert session.get(Response, w["bob"]) is not None
        assert "Refund took three weeks; Jane told me the same ([email])" in stored
        assert as_quoted(w["bob_words"]).split("(")[0] in stored
        assert _count(session, Invitation) == 1 and _count(session, CauseAssignment) == 2
        cause = session.scalars(select(Cause)).one()
        assert w["jane_words"] not in cause.verbatims and w["jane_post"] in cause.verbatims
        run = session.scalars(select(DigestRun)).one()
        assert run.content["headline"] == [{"metric": "nps", "value": 12.0}]  # numbers stay
        record = session.scalars(select(ErasureRequest)).one()
        assert record.via == "cli" and record.requested_by == "cli ada" and record.identifier_kind == "email"
        assert len(record.identifier_hash) == 64 and record.counts == result.counts


def test_erase_by_handle_removes_the_post_and_its_quotes(sessions) -> None:
    w = world(sessions, NOW)
    with transaction(sessions) as session:
        result = erase_customer(session, KEY, IdentifierKind.HANDLE, "jane_doe", requested_by="t", via="cli")
    assert result.counts["mentions"] == 1 and result.counts["cause_assignments"] == 1
    assert result.counts["invitations"] == 0 and result.counts["responses"] == 0
    with sessions() as session:
        stored = _everything(session)
        assert w["jane_post"] not in stored and "Jane_Doe" not in stored
        assert session.scalars(select(Mention.author)).all() == ["@someone_else"]


def test_erasing_twice_and_erasing_an_unknown_customer_record_zero_counts(sessions) -> None:
    world(sessions, NOW)
    with transaction(sessions) as session:
        first = erase_customer(session, KEY, IdentifierKind.CUSTOMER_ID, "C-1", requested_by="t", via="cli")
    with transaction(sessions) as session:
        again = erase_customer(session, KEY, IdentifierKind.CUSTOMER_ID, "C-1", requested_by="t", via="cli")
        unknown = erase_customer(
            session, KEY, IdentifierKind.EMAIL, "nobody@example.com", requested_by="t", via="cli"
        )
    assert first.counts["responses"] == 2 and first.counts["invitations"] == 2
    assert set(again.counts.values()) == {0} and set(unknown.counts.values()) == {0}
    assert again.identifier_hash == first.identifier_hash != unknown.identifier_hash
    with sessions() as session:
        assert _count(session, ErasureRequest) == 3 and _count(session, Response) == 1


def test_a_failure_half_way_erases_nothing(sessions, monkeypatch: pytest.MonkeyPatch) -> None:
    world(sessions, NOW)
    with sessions() as session:
        before = _everything(session)

    def broken(*_: Any) -> dict[str, int]:
        raise RuntimeError("disk full")

    monkeypatch.setattr(erase_module, "_scrub_address", broken)  # after every delete and quote scrub
    with pytest.raises(RuntimeError), transaction(sessions) as session:
        erase_customer(session, KEY, IdentifierKind.EMAIL, "jane@example.com", requested_by="t", via="cli")
    with sessions() as session:
        assert _everything(session) == before and _count(session, Response) == 3


def test_admin_api_erases_and_answers_with_counts(client, sessions) -> None:
    world(sessions, NOW)
    admin = bearer(factories.token(sessions))
    executive = bearer(factories.token(sessions, Role.EXECUTIVE))
    body = {"email": "jane@example.com"}
    assert client.post("/api/privacy/erasures", json=body).status_code == 401
    denied = client.post("/api/privacy/erasures", json=body, headers=executive)
    assert denied.status_code == 403
    both = client.post("/api/privacy/erasures", json={**body, "customer_id": "C-1"}, headers=admin)
    assert both.status_code == 422 and both.json()["errors"][0]["field"] == "customer_id"
    bad = client.post("/api/privacy/erasures", json={"email": "not-an-address"}, headers=admin)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "email"
    done = client.post("/api/privacy/erasures", json=body, headers=admin)
    assert done.status_code == 201, done.text
    assert done.json()["counts"]["responses"] == 2 and done.json()["identifier_kind"] == "email"
    with sessions() as session:
        record = session.scalars(select(ErasureRequest)).one()  # the refused calls recorded nothing
        assert record.requested_by == "api token test-admin" and record.via == "api"
        assert "jane" not in json.dumps(record.counts) + record.identifier_hash


def test_cli_erases_and_prints_counts(database_url, sessions, monkeypatch: pytest.MonkeyPatch) -> None:
    world(sessions, NOW)
    monkeypatch.setenv("FEEDBACK_DATABASE_URL", database_url)
    out = CliRunner().invoke(main, ["privacy", "erase", "--customer-id", "C-1"])
    assert out.exit_code == 0, out.output
    assert "responses: 2" in out.output and "invitations: 2" in out.output
    missing = CliRunner().invoke(main, ["privacy", "erase"])
    assert missing.exit_code == 1 and "give exactly one of" in missing.output
    with sessions() as session:
        assert session.scalars(select(ErasureRequest.via)).all() == ["cli"]
