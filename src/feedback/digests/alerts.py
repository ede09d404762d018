"""Alerts between digests: a crisis should not wait for Monday.

Every few minutes (the scheduler), for each owned cause and for each department's dissatisfied responses
(the one rule of analysis/scales.py: a low score, or negative comments without any score), the count of the
last FEEDBACK_ALERT_WINDOW_H hours is compared with its rate over the FEEDBACK_ALERT_BASELINE_DAYS before
(analysis/spikes.py: Poisson tail, a minimum count, at least 3x the usual level). A spike alerts the owning
department's heads and channels at once, with verbatims (redacted) and action links.

One burst, one alert: the same angry answers are first a department's negative volume and, once `feedback
analyze` has assigned them, a cause's spike. So a department gets at most one spike alert per
FEEDBACK_ALERT_COOLDOWN_H, whatever it is about: it names the cause when one is known (the most significant;
others rising at the same time are listed in it), else it is about the unhappy answers, and a cause found
later for the same burst does not alert again (the next digest carries it). The ``alert_cooldowns`` row
(``burst:<department id>``) is claimed with a conditional UPDATE, so two schedulers send one alert.

Negative responses are counted live. Causes are as fresh as the last `feedback analyze` run (which assigns
feedback to causes): run it as often as alerts should be fresh.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, sessionmaker

from feedback.analysis.redact import redact
from feedback.analysis.scales import Cutoffs
from feedback.analysis.spikes import Spike, detect_spike
from feedback.config import Settings
from feedback.db import transaction
from feedback.digests.content import dashboard_url, verbatims_of
from feedback.digests.cooldowns import claim_cooldown
from feedback.digests.links import action_links
from feedback.digests.outbox import deliver_due
from feedback.digests.recipients import department_targets, enqueue
from feedback.digests.render import alert_payload, render_alert
from feedback.models import (
    Alert,
    Answer,
    Cause,
    CauseAssignment,
    CauseStatus,
    Department,
    Question,
    QuestionKind,
    Response,
)
from feedback.responses.dissatisfied import dissatisfied_response, survey_cutoffs

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Candidate:
    subject: str  # cause:<id> or negative:<department id>
    department_id: int
    cause_id: int | None
    spike: Spike


def _counts(
    session: Session, start: datetime, end: datetime, cutoffs: Cutoffs
) -> tuple[dict[int, int], dict[int, int]]:
    """(cause id -> items, department id -> negative responses) in [start, end)."""
    causes = session.execute(
        select(CauseAssignment.cause_id, func.count())
        .where(CauseAssignment.occurred_at >= start, CauseAssignment.occurred_at < end)
        .group_by(CauseAssignment.cause_id)
    )
    negative = session.execute(
        select(Response.department_id, func.count())
        .where(
            Response.submitted_at >= start,
            Response.submitted_at < end,
            Response.department_id.is_not(None),
            dissatisfied_response(cutoffs),
        )
        .group_by(Response.department_id)
    )
    return {c: n for c, n in causes}, {d: n for d, n in negative if d is not None}


def find_spikes(session: Session, settings: Settings, now: datetime) -> list[Candidate]:
    window = timedelta(hours=settings.alert_window_h)
    baseline_start = now - timedelta(days=settings.alert_baseline_days)
    baseline_hours = (now - window - baseline_start).total_seconds() / 3600
    cutoffs = survey_cutoffs(session, settings.cutoffs)
    recent_causes, recent_negative = _counts(session, now - window, now, cutoffs)
    if not recent_causes and not recent_negative:
        return []
    usual_causes, usual_negative = _counts(session, baseline_start, now - window, cutoffs)
    owned = select(Cause.id, Cause.department_id).where(
        Cause.status == CauseStatus.ACTIVE, Cause.department_id.is_not(None)
    )
    owners = {cause_id: department_id for cause_id, department_id in session.execute(owned)}

    def spike(count: int, usual: int) -> Spike | None:
        return detect_spike(
            count,
            usual,
            baseline_hours,
            settings.alert_window_h,
            min_count=settings.alert_min_count,
            max_p=settings.alert_max_p,
        )

    found = []
    for cause_id, count in sorted(recent_causes.items()):
        owner = owners.get(cause_id)
        hit = spike(count, usual_causes.get(cause_id, 0)) if owner is not None else None
        if hit is not None and owner is not None:
            found.append(Candidate(f"cause:{cause_id}", owner, cause_id, hit))
    explained = {c.department_id for c in found}  # a cause's spike is its department's: one alert, not two
    for department_id, count in sorted(recent_negative.items()):
        hit = spike(count, usual_negative.get(department_id, 0)) if department_id not in explained else None
        if hit is not None:
            found.append(Candidate(f"negative:{department_id}", department_id, None, hit))
    return found


def _negative_verbatims(
    session: Session, department_id: int, start: datetime, end: datetime, cutoffs: Cutoffs
) -> list[str]:
    texts = session.scalars(
        select(Answer.text)
        .join(Response, Response.id == Answer.response_id)
        .join(Question, Question.id == Answer.question_id)
        .where(
            Response.department_id == department_id,
            Response.submitted_at >= start,
            Response.submitted_at < end,
            dissatisfied_response(cutoffs),
            Question.kind == QuestionKind.TEXT,
            and_(Answer.text.is_not(None), Answer.text != ""),
        )
        .order_by(Response.submitted_at.desc())
        .limit(3)
    ).all()
    return [redact(" ".join(t.split()))[:300] for t in texts if t]


def _compose(session: Session, settings: Settings, burst: list[Candidate], now: datetime) -> Alert:
    """One alert for a department's burst: about its most significant candidate, naming the others."""
    candidate, *others = sorted(burst, key=lambda c: (c.spike.p_value, -c.spike.count))
    department = session.get(Department, candidate.department_id)
    assert department is not None
    spike, hours = candidate.spike, settings.alert_window_h
    start = now - timedelta(hours=hours)
    usual = f"usually {spike.expected:.1f} in {hours:g} hours"
    links: dict[str, str] = {}
    if candidate.cause_id is not None:
        cause = session.get(Cause, candidate.cause_id)
        assert cause is not None
        title = f"[feedback] Spike: {cause.name} ({department.name})"
        summary = (
            f"{spike.count} customers raised \u201c{cause.name}\u201d in the last {hours:g} hours; {usual}."
        )
        verbatims = verbatims_of(session, cause.id, start, now)
        links = action_links(settings, cause.id, None, now)
    else:
        title = f"[feedback] Spike in unhappy customers: {department.name}"
        summary = f"{spike.count} negative answers in the last {hours:g} hours; {usual}."
        cutoffs = survey_cutoffs(session, settings.cutoffs)
        verbatims = _negative_verbatims(session, department.id, start, now, cutoffs)
    summary += f" The chance of so many by bad luck is {spike.p_value:.1e}."
    also = [(session.get(Cause, c.cause_id), c.spike.count) for c in others if c.cause_id is not None]
    if also:
        summary += " Also rising: " + ", ".join(f"{c.name} ({n})" for c, n in also if c is not None) + "."
    message = render_alert(title, summary, verbatims, links, dashboard_url(settings, department.slug))
    detail: dict[str, Any] = {
        "count": spike.count,
        "expected": round(spike.expected, 3),
        "p_value": spike.p_value,
        "window_hours": hours,
        "department": department.slug,
        "causes": [c.cause_id for c in (candidate, *others) if c.cause_id is not None],
    }
    detail["payload"] = alert_payload(
        title, summary, verbatims, links, dashboard_url(settings, department.slug), dict(detail)
    )
    return Alert(
        kind="spike",
        subject=candidate.subject,
        department_id=department.id,
        cause_id=candidate.cause_id,
        fired_at=now,
        title=title[:300],
        text=message.text,
        html=message.html,
        detail=detail,
    )


def check_spikes(
    sessions: sessionmaker[Session], settings: Settings, now: datetime, hold: bool = False
) -> list[int]:
    """Find spikes, alert each (once per cooldown) and deliver at once; the ids of the alerts fired.
    ``hold`` stores the alerts without queueing or sending them (the demo without a mail server)."""
    with sessions() as session:
        candidates = find_spikes(session, settings, now)
    bursts: dict[int, list[Candidate]] = {}
    for candidate in candidates:
        bursts.setdefault(candidate.department_id, []).append(candidate)
    fired = []
    cooldown = timedelta(hours=settings.alert_cooldown_h)
    for department_id, burst in bursts.items():
        if not claim_cooldown(sessions, f"burst:{department_id}", now, cooldown):
            continue
        with transaction(sessions) as session:
            alert = _compose(session, settings, burst, now)
            session.add(alert)
            session.flush()
            fired.append(alert.id)
            log.warning("%s: %s", alert.title, alert.detail.get("count"))
            if hold:
                continue
            targets = department_targets(session, department_id)
            enqueue(
                session,
                message_key=f"alert:{alert.id}",
                purpose="alert",
                targets=targets,
                now=now,
                alert_id=alert.id,
            )
    if fired and not hold:
        deliver_due(sessions, settings, now, alert_ids=fired)
    return fired
