"""Company-defined context fields: declared once, stored with invitations and responses, read as columns."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import select

from feedback.db import make_engine
from feedback.errors import InvalidInput
from feedback.invitations.reading import read_csv_rows
from feedback.models import Invitation, Response
from feedback.outcomes.query import read_responses
from feedback.responses.context import load_company_fields
from tests import factories

FIELDS = """
[[fields]]
name = "days_late"
type = "numeric"

[[fields]]
name = "plan"
type = "categorical"
"""


@pytest.fixture
def declared(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "fields.toml"
    path.write_text(FIELDS)
    monkeypatch.setenv("FEEDBACK_CONTEXT_FIELDS_FILE", str(path))
    return path


def test_declarations_are_checked(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[fields]]\nname = "channel"\ntype = "numeric"\n[[fields]]\nname = "x"\ntype = "date"\n')
    with pytest.raises(InvalidInput) as caught:
        load_company_fields(str(bad))
    assert [e.field.split(": ")[1] for e in caught.value.errors] == ["fields[0].name", "fields[1].type"]


def test_fields_go_from_the_invitation_csv_to_the_response_and_into_the_analysis(
    declared, sessions, client, database_url
) -> None:
    rows = dict(read_csv_rows(io.StringIO("customer_id,days_late,plan\nc1,3,pro\nc2,,basic\n")))
    factories.survey(sessions)
    tokens = factories.invite(sessions, list(rows.values()))
    with pytest.raises(InvalidInput) as caught:
        factories.invite(sessions, [{"customer_id": "c3", "days_late": "soon"}])
    assert [e.field for e in caught.value.errors] == ["line 2: days_late"]
    with pytest.raises(InvalidInput):  # an undeclared column is still an error
        list(read_csv_rows(io.StringIO("customer_id,mood\nc1,ok\n")))
    with sessions() as session:
        stored = {i.customer_id: i.context_fields for i in session.scalars(select(Invitation))}
    assert stored == {"c1": {"days_late": 3.0, "plan": "pro"}, "c2": {"plan": "basic"}}
    for token, score in zip(tokens, (2, 5), strict=True):
        answer = client.post(
            "/api/surveys/support-followup/responses",
            json={"token": token, "answers": {"nps": 5, "csat": score}},
        )
        assert answer.status_code == 201, answer.text
    public = client.post(
        "/api/surveys/support-followup/responses",
        json={"answers": {"nps": 9}, "context": {"fields": {"days_late": "x"}}},
    )
    assert public.status_code == 422 and public.json()["errors"][0]["field"] == "context.days_late"
    with sessions() as session:
        assert sorted(str(r.context_fields) for r in session.scalars(select(Response))) == sorted(
            str(v) for v in stored.values()
        )
    engine = make_engine(database_url)
    frame = read_responses(engine, "csat").sort("score")
    engine.dispose()
    assert frame["days_late"].to_list() == [3.0, None] and frame["plan"].to_list() == ["pro", "basic"]
