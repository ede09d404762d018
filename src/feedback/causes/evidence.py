"""What is behind a cause: every comment and mention assigned to it, newest first, a page at a time.

Pages are cut with a cursor (the last item's time and assignment id), so a page stays right while new
feedback arrives. Scoped like the other cause reads: a department head sees only their department's causes.
``read_evidence`` is what callers get: scoped and redacted for them (privacy/exposure.py).
"""

from __future__ import annotations

import base64
from datetime import datetime

import msgspec
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from feedback.accounts.access import Caller
from feedback.causes.decisions import get_cause
from feedback.causes.query import visible
from feedback.errors import InvalidInput, NotFound
from feedback.models import Answer, CauseAssignment, Department, Mention, Response
from feedback.privacy import exposure

MAX_LIMIT = 200


class EvidenceItem(msgspec.Struct):
    kind: str  # comment (a survey answer) or mention (a public post)
    occurred_at: datetime
    text: str
    confidence: float
    department: str | None
    channel: str | None  # comments: the interaction's channel; mentions: the source
    product: str | None
    nps: int | None = None
    csat: int | None = None
    ces: int | None = None
    author: str | None = None  # mentions only; admins only
    url: str | None = None  # mentions only; admins only


class EvidencePage(msgspec.Struct):
    cause: str
    items: list[EvidenceItem]
    next_cursor: str | None  # pass as ``cursor`` for the next (older) page; None: no more


def _encode(at: datetime, assignment_id: int) -> str:
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{assignment_id}".encode()).decode().rstrip("=")


def _decode(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, _, ident = raw.partition("|")
        return datetime.fromisoformat(at), int(ident)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput.on("cursor", "not a cursor from an earlier page") from None


def cause_evidence(
    session: Session, key: str, scope: int | None, limit: int = 50, cursor: str | None = None
) -> EvidencePage:
    """The cause's comments and mentions, newest first, ``limit`` at a time, from ``cursor`` on."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput.on("limit", f"expected a whole number from 1 to {MAX_LIMIT}")
    cause = get_cause(session, key)
    if not visible(cause, scope):
        raise NotFound(f"no cause {key!r}")
    query = (
        select(CauseAssignment, Answer.text, Response, Mention)
        .outerjoin(
            Answer,
            and_(
                Answer.response_id == CauseAssignment.response_id,
                Answer.question_id == CauseAssignment.question_id,
            ),
        )
        .outerjoin(Response, Response.id == CauseAssignment.response_id)
        .outerjoin(Mention, Mention.id == CauseAssignment.mention_id)
        .where(CauseAssignment.cause_id == cause.id)
        .order_by(CauseAssignment.occurred_at.desc(), CauseAssignment.id.desc())
        .limit(limit + 1)
    )
    if cursor:
        at, ident = _decode(cursor)
        query = query.where(
            or_(
                CauseAssignment.occurred_at < at,
                and_(CauseAssignment.occurred_at == at, CauseAssignment.id < ident),
            )
        )
    slugs = dict(session.execute(select(Department.id, Department.slug)).all())
    rows = session.execute(query).all()
    items = []
    for assignment, text, response, mention in rows[:limit]:
        department = slugs.get(assignment.department_id) if assignment.department_id else None
        if mention is not None:
            items.append(
                EvidenceItem(
                    kind="mention",
                    occurred_at=assignment.occurred_at,
                    text=mention.text,
                    confidence=round(assignment.confidence, 3),
                    department=department,
                    channel=mention.source,
                    product=mention.product,
                    author=mention.author,
                    url=mention.url,
                )
            )
        elif response is not None:
            items.append(
                EvidenceItem(
                    kind="comment",
                    occurred_at=assignment.occurred_at,
                    text=text or "",
                    confidence=round(assignment.confidence, 3),
                    department=department,
                    channel=response.channel,
                    product=response.product,
                    nps=response.nps,
                    csat=response.csat,
                    ces=response.ces,
                )
            )
    more = len(rows) > limit
    last = rows[limit - 1][0] if more else None
    return EvidencePage(cause.key, items, _encode(last.occurred_at, last.id) if last is not None else None)


def read_evidence(
    session: Session, caller: Caller, key: str, limit: int = 50, cursor: str | None = None
) -> EvidencePage:
    """``cause_evidence`` of a cause ``caller`` may see (else NotFound), redacted for them."""
    return exposure.evidence(caller, cause_evidence(session, key, caller.scope(), limit, cursor))
