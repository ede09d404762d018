"""Where causes stand in the follow-up loop, in plain words with date, who and note, and their loop history.

The state itself is kept by digests/loop.py (``cause_followups`` and the loop's ``cause_events``);
this module only reads it, for the dashboards and the cause page.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from feedback.digests.loop import LOOP_KINDS
from feedback.models import CauseEvent, CauseFollowup

WORDS = {
    "reported": "Reported, not yet acknowledged",
    "acknowledged": "Acknowledged",
    "in_progress": "Being fixed",
    "fixed": "Marked fixed, being watched",
    "verified": "Fix verified",
    "reopened": "Reopened: it came back after the fix",
}
EVENT_WORDS = {
    "reported": "reported to the department",
    "acknowledged": "acknowledged",
    "in_progress": "fix started",
    "fixed": "marked fixed",
    "verified": "fix verified",
    "reopened": "reopened",
}


@dataclass(frozen=True)
class LoopEvent:
    kind: str
    words: str
    at: datetime
    actor: str | None
    note: str | None


@dataclass(frozen=True)
class FollowupStatus:
    state: str | None  # None: never reported to its department
    words: str  # "Being fixed since 3 Nov 2026 (Hal Head): new courier contract"
    since: datetime | None
    actor: str | None
    note: str | None


def _day(moment: datetime) -> str:
    return f"{moment:%-d %b %Y}"


def loop_history(session: Session, cause_id: int) -> list[LoopEvent]:
    """The cause's follow-up steps, newest first."""
    events = session.scalars(
        select(CauseEvent)
        .where(CauseEvent.cause_id == cause_id, CauseEvent.kind.in_(LOOP_KINDS))
        .order_by(CauseEvent.at.desc(), CauseEvent.id.desc())
    ).all()
    return [
        LoopEvent(e.kind, EVENT_WORDS[e.kind], e.at, e.actor, (e.detail or {}).get("note") or None)
        for e in events
    ]


def followup_status(session: Session, cause_ids: Iterable[int]) -> dict[int, FollowupStatus]:
    """Each cause's state in plain words; causes never reported are absent."""
    ids = list(cause_ids)
    if not ids:
        return {}
    followups = {
        f.cause_id: f
        for f in session.scalars(select(CauseFollowup).where(CauseFollowup.cause_id.in_(ids))).all()
    }
    latest: dict[int, CauseEvent] = {}
    for row in session.scalars(
        select(CauseEvent)
        .where(CauseEvent.cause_id.in_(list(followups)), CauseEvent.kind.in_(LOOP_KINDS))
        .order_by(CauseEvent.at, CauseEvent.id)
    ).all():
        latest[row.cause_id] = row
    out = {}
    for cause_id, followup in followups.items():
        state = str(followup.state)
        found = latest.get(cause_id)
        event = found if found is not None and found.kind == state else None
        since = event.at if event is not None else followup.updated_at
        actor = event.actor if event is not None else None
        note = (event.detail or {}).get("note") if event is not None else None
        words = f"{WORDS.get(state, state)} since {_day(since)}"
        if state == "fixed" and followup.verify_until is not None:
            words = f"Marked fixed on {_day(since)}, watched until {_day(followup.verify_until)}"
        if actor:
            words += f" by {actor}"
        if note:
            words += f": {note}"
        out[cause_id] = FollowupStatus(state, words, since, actor, note)
    return out
