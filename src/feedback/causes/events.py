"""Cause history: one row per thing that happened to a cause."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from feedback.models import Cause, CauseEvent, utcnow


def record(
    session: Session,
    cause: Cause,
    kind: str,
    *,
    actor: str | None = None,
    run_id: int | None = None,
    related: Cause | None = None,
    detail: dict[str, Any] | None = None,
) -> CauseEvent:
    event = CauseEvent(
        cause_id=cause.id,
        kind=kind,
        at=utcnow(),
        actor=actor,
        run_id=run_id,
        related_cause_id=related.id if related is not None else None,
        detail=detail or {},
    )
    session.add(event)
    return event
