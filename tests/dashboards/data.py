"""Two departments with everything a dashboard shows: responses with comments, mentions, root causes, targets.

Department A (alpha) and department B (bravo) each get survey responses over the last eight weeks, public
mentions, a root cause with its ledger and history, and an NPS target. Everything of department B carries
"bravo" in its text, so a test can check that none of it reaches someone who may see only department A.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from feedback.accounts.users import create_user
from feedback.db import transaction
from feedback.departments.service import department_slugs
from feedback.metrics import rollups
from feedback.models import (
    AnalysisRun,
    Cause,
    CauseEvent,
    CauseLedger,
    Mention,
    Role,
    RunState,
    Target,
)
from tests import factories
from tests.metrics.data import store

A, B = "alpha", "bravo"
NAMES = {A: "Alpha Care", B: "Bravo Logistics"}
PASSWORD = "a long test password 42"
EMAILS = {
    Role.ADMIN: "admin@example.com",
    Role.EXECUTIVE: "exec@example.com",
    Role.DEPARTMENT_HEAD: "head-a@example.com",
}
WEEKS = 8


def _now() -> datetime:
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


def _responses(dept: str, start: datetime) -> list[dict[str, Any]]:
    marker = "alpha" if dept == A else "bravo"
    channels = ["phone", "chat", "web"] if dept == A else ["bravo-fax"]
    rows = []
    for i in range(WEEKS * 7 * 2):
        at = start + timedelta(hours=12 * i + 1)
        nps = (i * 7 + (3 if dept == A else 5)) % 11
        context = {
            "department": dept,
            "channel": channels[i % len(channels)],
            "product": f"{marker}-widget" if i % 2 else f"{marker}-gadget",
            "contractor": f"{marker}-contact-centre",
        }
        comment = f"{marker} comment {i}: " + (
            "slow refund, still waiting" if nps <= 6 else "friendly and quick"
        )
        rows.append(
            {
                "at": at,
                "answers": {"nps": nps, "csat": 1 + i % 5, "ces": 1 + i % 7, "comment": comment},
                "context": context,
            }
        )
    return rows


def mention(
    department_id: int | None, text: str, at: datetime, source: str = "twitter", **extra: Any
) -> Mention:
    words = re.findall(r"\w+", text.lower())
    return Mention(
        source=source,
        source_id=uuid.uuid4().hex,
        via="import",
        author="someone",
        url=extra.get("url"),
        text=text,
        text_norm=text,
        text_hash=uuid.uuid4().hex,
        lang="en",
        posted_at=at,
        received_at=at,
        product=extra.get("product"),
        department_id=department_id,
        polarity=-0.4 if "slow" in words else 0.3,
        subjectivity=0.5,
        analyzer="test",
    )


def _causes(session: Session, ids: dict[str, int], start: datetime, now: datetime) -> None:
    run = AnalysisRun(state=RunState.COMPLETE, engine="test", started_at=now, finished_at=now)
    session.add(run)
    session.flush()
    for dept in (A, B):
        marker = "alpha" if dept == A else "bravo"
        cause = Cause(
            key=f"{marker}-refunds",
            name=f"{marker.title()} refunds are slow",
            status="active",
            origin="taxonomy",
            keywords=["refund"],
            examples=[],
            department_id=ids[dept],
            label="refund slow",
            verbatims=[f"{marker} comment: slow refund, still waiting"],
            size=20,
            first_seen_at=start,
            last_seen_at=now,
            created_at=start,
            updated_at=now,
        )
        session.add(cause)
        session.flush()
        for week in range(WEEKS):
            period_start = (start + timedelta(weeks=week)).date()
            period_start -= timedelta(days=period_start.weekday())
            session.add(
                CauseLedger(
                    cause_id=cause.id,
                    run_id=run.id,
                    period=f"{period_start:%G-W%V}",
                    period_start=period_start,
                    count=3 + week,
                    share=0.2,
                    nps_points_lost=2.5 + week / 4,
                    csat_points_lost=1.5,
                    first_seen_at=start,
                    last_seen_at=now,
                    trend="growing" if week > 4 else "steady",
                )
            )
        session.add(
            CauseEvent(cause_id=cause.id, run_id=run.id, kind="new", at=start, actor="analysis", detail={})
        )
        session.add(
            CauseEvent(cause_id=cause.id, run_id=run.id, kind="grew", at=now, actor="analysis", detail={})
        )


def seed(sessions: sessionmaker[Session]) -> None:
    """Departments A and B with responses, mentions, causes and targets; logins for each role."""
    now = _now()
    start = now - timedelta(weeks=WEEKS)
    for dept in (A, B):
        factories.survey(sessions, slug=f"{dept}-survey", department=dept)
        factories.department(sessions, dept, NAMES[dept])
        store(sessions, _responses(dept, start), slug=f"{dept}-survey")
    with transaction(sessions) as session:
        ids = department_slugs(session)
        for i in range(WEEKS * 3):
            at = start + timedelta(days=2 * i + 1)
            session.add(
                mention(ids[A], f"alpha mention {i}: slow delivery again", at, product="alpha-widget")
            )
            session.add(
                mention(ids[B], f"bravo mention {i}: great", at, source="reddit", product="bravo-gadget")
            )
        session.flush()  # mentions written around the services: count them
        rollups.rebuild_mentions(session.connection())
        _causes(session, ids, start, now)
        session.add(Target(metric="nps", dimension="department", value=A, target=20.0))
        session.add(Target(metric="nps", dimension="department", value=B, target=30.0))
        create_user(session, EMAILS[Role.ADMIN], "Ada Admin", PASSWORD, Role.ADMIN)
        create_user(session, EMAILS[Role.EXECUTIVE], "Eve Exec", PASSWORD, Role.EXECUTIVE)
        create_user(session, EMAILS[Role.DEPARTMENT_HEAD], "Hal Head", PASSWORD, Role.DEPARTMENT_HEAD, A)


def login(client: Any, role: Role) -> None:
    """Sign ``client`` (a Litestar TestClient) in through the login form."""
    page = client.get("/login")
    match = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert match, page.text
    answer = client.post(
        "/login",
        data={"email": EMAILS[role], "password": PASSWORD, "_csrf_token": match.group(1)},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
