"""Small builders for test data. Tests say what they need; these make it exist."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from feedback.accounts.api_tokens import create_token
from feedback.db import transaction
from feedback.departments.service import DepartmentSpec, upsert_department
from feedback.invitations.service import NewLink, import_invitations
from feedback.models import Role, Survey
from feedback.surveys.service import get_survey, load_survey, parse_survey_spec

BASE_URL = "http://testserver"


def survey_spec(**overrides: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "slug": "support-followup",
        "title": "How did we do?",
        "department": "support",
        "anonymous_link": True,
        "questions": [
            {
                "key": "nps",
                "type": "nps",
                "prompt": "How likely are you to recommend us?",
                "required": True,
                "low_label": "Not at all likely",
                "high_label": "Extremely likely",
            },
            {"key": "csat", "type": "csat", "prompt": "How satisfied are you with the help you got?"},
            {"key": "ces", "type": "ces", "prompt": "The company made it easy to handle my issue."},
            {
                "key": "reason",
                "type": "choice",
                "prompt": "What was it about?",
                "choices": ["Billing", "Delivery", "Other"],
            },
            {"key": "comment", "type": "text", "prompt": "What could we do better?", "max_length": 500},
        ],
    }
    spec.update(overrides)
    return spec


def department(sessions: sessionmaker[Session], slug: str = "support", name: str = "Customer Support") -> int:
    with transaction(sessions) as session:
        return upsert_department(session, DepartmentSpec(slug=slug, name=name)).id


def survey(sessions: sessionmaker[Session], **overrides: Any) -> Survey:
    spec = survey_spec(**overrides)
    department(sessions, spec["department"], spec["department"].title())
    with transaction(sessions) as session:
        return load_survey(session, parse_survey_spec(spec))


def invite(
    sessions: sessionmaker[Session],
    rows: list[Mapping[str, Any]],
    slug: str = "support-followup",
    **options: Any,
) -> list[str]:
    """Invite ``rows``; returns the new links' tokens in row order."""
    links: list[NewLink] = []
    with transaction(sessions) as session:
        import_invitations(
            session,
            get_survey(session, slug),
            enumerate(rows, start=2),
            base_url=BASE_URL,
            on_link=links.append,
            **options,
        )
    return [link.link.rsplit("/", 1)[1] for link in links]


def token(sessions: sessionmaker[Session], role: Role = Role.ADMIN, department: str | None = None) -> str:
    with transaction(sessions) as session:
        return create_token(session, f"test-{role}", role, department)


def bearer(api_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_token}"}
