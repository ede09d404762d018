"""Names are text, not control characters (issue 12, item 3): every name and title is checked at input, with
an answer naming the field, and an error's text never goes into a response header."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from feedback.accounts.api_tokens import create_token
from feedback.accounts.users import create_user
from feedback.analysis.causes.taxonomy import parse_taxonomy
from feedback.dashboards.spec import parse_dashboard
from feedback.db import transaction
from feedback.errors import InvalidInput
from feedback.models import Department, Role
from tests import factories
from tests.factories import bearer

CONTROLS = ["Billing\u0007Bell", "Bill\x1b[31ming", "Billing\n", "Bill\ting", "Bill\u0085ing", "Bill\x7fing"]


def departments(sessions) -> int:  # type: ignore[no-untyped-def]
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(Department)) or 0)


@pytest.mark.parametrize("name", CONTROLS)
def test_a_department_name_with_a_control_character_is_refused(client, sessions, name) -> None:
    admin = bearer(factories.token(sessions))
    before = departments(sessions)
    answer = client.post("/api/departments", json={"slug": "billing", "name": name}, headers=admin)
    assert answer.status_code in (400, 422), answer.text
    assert answer.json()["errors"] == [
        {
            "field": "name",
            "message": "expected text without control characters (such as a bell, an escape or a line break)",
        }
    ]
    assert departments(sessions) == before
    fine = client.post("/api/departments", json={"slug": "billing", "name": "Billing & Zoë"}, headers=admin)
    assert fine.status_code in (200, 201), fine.text


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"title": "How did we do?\u0007"}, "title"),
        (
            {"questions": [{"key": "nps", "type": "nps", "prompt": "Recommend\x1b us?"}]},
            "questions[0].prompt",
        ),
        (
            {"questions": [{"key": "r", "type": "choice", "prompt": "Why?", "choices": ["A", "B\u0007"]}]},
            "questions[0].choices[1]",
        ),
        (
            {"questions": [{"key": "nps", "type": "nps", "prompt": "Why?", "low_label": "no\u009b"}]},
            "questions[0].low_label",
        ),
        ({"intro": "Two questions.\u0007"}, "intro"),
    ],
)
def test_survey_titles_prompts_choices_and_labels_refuse_control_characters(
    client, sessions, change, field
) -> None:
    admin = bearer(factories.token(sessions))
    factories.department(sessions)
    answer = client.post("/api/surveys", json=factories.survey_spec(**change), headers=admin)
    assert answer.status_code in (400, 422), answer.text
    assert [e["field"] for e in answer.json()["errors"]] == [field]
    assert "control characters" in answer.json()["errors"][0]["message"]


def test_a_survey_intro_may_have_line_breaks(client, sessions) -> None:
    admin = bearer(factories.token(sessions))
    factories.department(sessions)
    spec = factories.survey_spec(intro="Two questions.\n\tThank you.\r\n")
    assert client.post("/api/surveys", json=spec, headers=admin).status_code in (200, 201)


def test_a_cause_name_refuses_control_characters(client, sessions) -> None:
    admin = bearer(factories.token(sessions))
    factories.department(sessions)
    body = {"id": "late-parcels", "name": "Late\u0007parcels", "department": "support"}
    answer = client.post("/api/causes", json=body, headers=admin)
    assert answer.status_code in (400, 422), answer.text
    assert [e["field"] for e in answer.json()["errors"]] == ["name"]


def test_users_tokens_taxonomies_and_dashboards_refuse_control_characters(sessions) -> None:
    factories.department(sessions)
    with pytest.raises(InvalidInput) as raised, transaction(sessions) as session:
        create_user(session, "ann@example.com", "Ann\u0007", "a long enough password", Role.EXECUTIVE)
    assert [e.field for e in raised.value.errors] == ["name"]
    with pytest.raises(InvalidInput) as raised, transaction(sessions) as session:
        create_token(session, "ci\x1b[2J", Role.ADMIN)
    assert [e.field for e in raised.value.errors] == ["name"]
    with pytest.raises(InvalidInput) as raised:
        parse_taxonomy({"causes": [{"id": "late", "name": "Late\u0007", "department": "support"}]})
    assert [e.field for e in raised.value.errors] == ["causes[0].name"]
    with pytest.raises(InvalidInput) as raised:
        parse_dashboard({"title": "Overview\u0007", "audience": ["admin"], "panels": []}, "overview")
    assert any(e.field.endswith(": title") for e in raised.value.errors), raised.value.errors


def test_a_digest_preview_never_puts_an_errors_text_in_a_header(client, sessions, monkeypatch) -> None:
    from feedback.digests import schedule

    factories.department(sessions)
    warning = "chart 'NPS for Billing\u0007Bell' failed: kaleido\r\nX-Injected: 1"
    monkeypatch.setattr(schedule, "preview", lambda *args, **kwargs: ("<p>digest</p>", [warning, warning]))
    answer = client.get(
        "/api/departments/support/digest/preview", headers=bearer(factories.token(sessions, Role.EXECUTIVE))
    )
    assert answer.status_code == 200
    assert answer.headers["X-Feedback-Warnings"] == "2" and "X-Injected" not in answer.headers
