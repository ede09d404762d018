"""Defining surveys from TOML or JSON: clear errors, and updates that never change stored answers' meaning."""

from __future__ import annotations

from pathlib import Path

import pytest

from feedback.db import transaction
from feedback.errors import InvalidInput
from feedback.models import utcnow
from feedback.responses.store import SurveyCache, store_batch
from feedback.responses.submissions import Submission
from feedback.surveys.service import load_survey, parse_survey_spec, read_survey_file
from tests import factories


def errors_of(spec: dict) -> dict[str, str]:  # type: ignore[type-arg]
    with pytest.raises(InvalidInput) as info:
        parse_survey_spec(spec)
    return {e.field: e.message for e in info.value.errors}


def test_a_toml_file_defines_a_survey(sessions, tmp_path: Path) -> None:
    factories.department(sessions)
    path = tmp_path / "s.toml"
    path.write_text(
        'slug = "after-call"\ntitle = "Your call"\ndepartment = "support"\n'
        '[[questions]]\nkey = "csat"\ntype = "csat"\nprompt = "How satisfied are you?"\nrequired = true\n'
        '[[questions]]\nkey = "why"\ntype = "text"\nprompt = "Why?"\n'
        "[bands]\ncsat = [3, 4]\n"
    )
    with transaction(sessions) as session:
        survey = load_survey(session, read_survey_file(path))
        assert [(q.key, q.kind, q.required) for q in survey.questions] == [
            ("csat", "csat", True),
            ("why", "text", False),
        ]
        assert survey.public_key is None
        assert survey.bands == {"csat": [3, 4]}  # CSAT 1-3 dissatisfied in this survey


@pytest.mark.parametrize(
    ("change", "field", "fragment"),
    [
        ({"slug": "Bad Slug!"}, "slug", "lowercase letters"),
        ({"questions": []}, "questions", "length >= 1"),
        ({"questions": [{"key": "q", "type": "stars", "prompt": "?"}]}, "questions[0].type", "Invalid enum"),
        ({"questions": [{"key": "q", "type": "nps"}]}, "questions[0].prompt", "required"),
        (
            {"questions": [{"key": "q", "type": "choice", "prompt": "?", "choices": ["a"]}]},
            "questions[0].choices",
            "at least two",
        ),
        (
            {
                "questions": [
                    {"key": "q", "type": "nps", "prompt": "?"},
                    {"key": "q", "type": "text", "prompt": "?"},
                ]
            },
            "questions[1].key",
            "duplicate",
        ),
        ({"colour": "blue"}, "colour", "unknown field"),
        ({"bands": {"csat": [4, 3]}}, "bands.csat", "1 <= last low < first high <= 5"),
        ({"bands": {"csat": [3, 3]}}, "bands.csat", "last low < first high"),
        ({"bands": {"nps": [6, 11]}}, "bands.nps", "0 <= last low < first high <= 10"),
        ({"bands": {"ces": [0, 5]}}, "bands.ces", "1 <= last low"),
        ({"bands": {"csat": [2]}}, "bands.csat", "length"),
        ({"bands": {"stars": [1, 2]}}, "bands", "unknown field"),
        (
            {"questions": [{"key": "q", "type": "nps", "prompt": "?"}], "bands": {"csat": [2, 4]}},
            "bands.csat",
            "no csat question",
        ),
    ],
)
def test_bad_survey_definitions_name_the_field(change, field, fragment) -> None:
    errors = errors_of(factories.survey_spec(**change))
    assert any(f.startswith(field) and fragment.lower() in m.lower() for f, m in errors.items()), errors


def test_unknown_department_is_a_field_error(sessions) -> None:
    with transaction(sessions) as session, pytest.raises(InvalidInput) as info:
        load_survey(session, parse_survey_spec(factories.survey_spec(department="nowhere")))
    assert info.value.errors[0].field == "department"


def test_reloading_updates_prompts_but_protects_answered_questions(sessions) -> None:
    factories.survey(sessions)
    [_stored] = store_batch(
        sessions,
        [
            Submission(
                answers={"nps": 7, "comment": "ok"},
                via="api",
                submitted_at=utcnow(),
                survey_slug="support-followup",
            )
        ],
        SurveyCache(),
        5000,
    )
    spec = factories.survey_spec()
    spec["questions"][0]["prompt"] = "Would you recommend us?"
    spec["questions"].append({"key": "extra", "type": "text", "prompt": "Anything else?"})
    with transaction(sessions) as session:
        survey = load_survey(session, parse_survey_spec(spec))
        assert survey.questions[0].prompt == "Would you recommend us?"
        assert survey.questions[-1].key == "extra"

    retyped = factories.survey_spec()
    retyped["questions"][0]["type"] = "csat"
    with transaction(sessions) as session, pytest.raises(InvalidInput) as info:
        load_survey(session, parse_survey_spec(retyped))
    assert info.value.errors[0].field == "questions[0].type"

    removed = factories.survey_spec()
    removed["questions"] = [q for q in removed["questions"] if q["key"] != "comment"]
    with transaction(sessions) as session, pytest.raises(InvalidInput) as info:
        load_survey(session, parse_survey_spec(removed))
    assert "comment" in info.value.errors[0].message
