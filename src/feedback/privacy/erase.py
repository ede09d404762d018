"""Erase one customer, by e-mail, customer id or public handle, in one transaction, and record it.

What happens to each table (the way Qualtrics' and Medallia's erasure tools do it: delete what belongs to
the person, keep only aggregates that no longer point at anyone):

- ``invitations``: deleted. They exist only to reach the person (e-mail, customer id, interaction id).
- ``responses`` and their ``answers``: deleted, scores included. A response row is not anonymous without
  its invitation: its time (also inside its UUIDv7 id), channel, agent and handle time point at one
  interaction in the company's own records. What stays are aggregates stored without a link to any row
  (cause ledger counts, digest headline numbers), so past reports keep their numbers.
- ``cause_assignments`` of those responses and mentions: deleted.
- ``outcome_events`` and ``customer_identities`` of every id of the person: the customer id given (or those
  of the erased invitations) and, through the identity map, the person's other ids, whose invitations go too.
- ``mentions`` whose author is the handle (or the e-mail): deleted. A later import or poll of the same post
  stores it again while its source still publishes it; erase again after such an import.
- Copies of their words (``causes.verbatims``/``examples``, digest runs' content, HTML and text, alerts'
  text, HTML and Slack payload): each quote replaced or dropped; the numbers around it stay.
- Other customers' answers, mentions and cause verbatims that write the erased e-mail address: the
  address becomes ``[email]``.

Answers through an anonymous public link carry no identifier and cannot be found by one. The request itself
is kept in ``erasure_requests``: who asked, when, the kind of identifier and its keyed hash, and the counts;
an unknown customer gives zero counts, and erasing twice finds nothing the second time.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, func, or_, select, update
from sqlalchemy.orm import Session

from feedback.metrics import rollups
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
    utcnow,
)
from feedback.outcomes.store import all_ids_of, erase_outcomes
from feedback.privacy.identifiers import IdentifierKind, keyed_hash, normalize
from feedback.privacy.quotes import all_forms, scrub_json, scrub_text

CHUNK = 500  # ids per IN (...) list


@dataclass(frozen=True)
class ErasureResult:
    request_id: int
    identifier_kind: str
    identifier_hash: str
    counts: dict[str, int]


def _chunks(ids: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def _delete(session: Session, model: Any, column: Any, ids: Sequence[Any]) -> int:
    total = 0
    for part in _chunks(ids):
        result = session.execute(
            delete(model).where(column.in_(part)).execution_options(synchronize_session=False)
        )
        total += getattr(result, "rowcount", 0) or 0
    return total


def _invitation_filter(kind: IdentifierKind, normalized: str) -> ColumnElement[bool] | None:
    if kind == IdentifierKind.EMAIL:
        return func.lower(Invitation.email) == normalized
    if kind == IdentifierKind.CUSTOMER_ID:
        return Invitation.customer_id == normalized
    return None


def _mention_filter(kind: IdentifierKind, normalized: str) -> ColumnElement[bool] | None:
    if kind == IdentifierKind.CUSTOMER_ID:
        return None  # an internal id: never a public author
    return func.lower(Mention.author).in_([normalized, "@" + normalized])


def scrub_quotes(session: Session, texts: Sequence[str], since: datetime | None) -> dict[str, int]:
    """Remove every quote of ``texts`` from causes, and from digests and alerts made at or after ``since``."""
    counts = {"causes": 0, "digest_runs": 0, "alerts": 0}
    forms = all_forms(t for t in texts if t and t.strip())
    if not forms:
        return counts
    for cause_id, held, examples in session.execute(select(Cause.id, Cause.verbatims, Cause.examples)).all():
        kept = [v for v in held or [] if v not in forms]
        kept_examples = [v for v in examples or [] if v not in forms]
        if kept != (held or []) or kept_examples != (examples or []):
            session.execute(
                update(Cause)
                .where(Cause.id == cause_id)
                .values(verbatims=kept, examples=kept_examples)
                .execution_options(synchronize_session=False)
            )
            counts["causes"] += 1
    if since is None:
        return counts
    for run in session.scalars(select(DigestRun).where(DigestRun.period_end >= since)):
        content = scrub_json(run.content, forms) if run.content is not None else None
        page = scrub_text(run.html, forms) if run.html is not None else None
        text = scrub_text(run.text, forms) if run.text is not None else None
        if (content, page, text) != (run.content, run.html, run.text):
            run.content, run.html, run.text = content, page, text
            counts["digest_runs"] += 1
    for alert in session.scalars(select(Alert).where(Alert.fired_at >= since)):
        detail = scrub_json(alert.detail, forms)
        page = scrub_text(alert.html, forms) if alert.html is not None else None
        text = scrub_text(alert.text, forms)
        if (detail, page, text) != (alert.detail, alert.html, alert.text):
            alert.detail, alert.html, alert.text = detail, page, text
            counts["alerts"] += 1
    return counts


def _scrub_address(session: Session, email: str) -> dict[str, int]:
    """Other people's text that writes the erased address: the address becomes [email]."""
    pattern = re.compile(re.escape(email), re.IGNORECASE)
    counts = {"answers_citing_email": 0, "mentions_citing_email": 0, "causes_citing_email": 0}
    for answer in session.scalars(
        select(Answer).where(func.lower(Answer.text).contains(email, autoescape=True))
    ):
        answer.text = pattern.sub("[email]", answer.text or "")
        counts["answers_citing_email"] += 1
    mentions = select(Mention).where(
        or_(
            func.lower(Mention.text).contains(email, autoescape=True),
            func.lower(Mention.text_norm).contains(email, autoescape=True),
        )
    )
    for mention in session.scalars(mentions):
        mention.text = pattern.sub("[email]", mention.text)
        mention.text_norm = pattern.sub("[email]", mention.text_norm)
        counts["mentions_citing_email"] += 1
    for cause_id, held, examples in session.execute(select(Cause.id, Cause.verbatims, Cause.examples)).all():
        if not any(pattern.search(v) for v in [*(held or []), *(examples or [])]):
            continue
        session.execute(
            update(Cause)
            .where(Cause.id == cause_id)
            .values(
                verbatims=[pattern.sub("[email]", v) for v in held or []],
                examples=[pattern.sub("[email]", v) for v in examples or []],
            )
            .execution_options(synchronize_session=False)
        )
        counts["causes_citing_email"] += 1
    return counts


def erase_customer(
    session: Session,
    key: bytes,
    kind: IdentifierKind,
    value: str,
    *,
    requested_by: str,
    via: str,
    now: datetime | None = None,
) -> ErasureResult:
    """Erase everything held about one customer, within the caller's transaction; the counts per table."""
    normalized = normalize(kind, value)
    now = now or utcnow()
    linked = all_ids_of(session, {normalized}) if kind == IdentifierKind.CUSTOMER_ID else set()
    invitation_filter = (
        Invitation.customer_id.in_(sorted(linked)) if linked else _invitation_filter(kind, normalized)
    )
    if kind == IdentifierKind.EMAIL and invitation_filter is not None:
        emailed = session.scalars(select(Invitation.customer_id).where(invitation_filter))
        linked = all_ids_of(session, {c for c in emailed if c})
    invitation_ids: list[int] = (
        list(session.scalars(select(Invitation.id).where(invitation_filter)))
        if invitation_filter is not None
        else []
    )
    responses: list[tuple[uuid.UUID, datetime]] = []
    for part in _chunks(invitation_ids):
        found = session.execute(
            select(Response.id, Response.submitted_at).where(Response.invitation_id.in_(part))
        )
        responses.extend((row.id, row.submitted_at) for row in found)
    response_ids = [r for r, _ in responses]
    mention_filter = _mention_filter(kind, normalized)
    mentions = (
        session.execute(
            select(Mention.id, Mention.posted_at, Mention.text, Mention.text_norm).where(mention_filter)
        ).all()
        if mention_filter is not None
        else []
    )
    mention_ids = [m.id for m in mentions]

    texts = [m.text for m in mentions] + [m.text_norm for m in mentions]
    for part in _chunks(response_ids):
        texts.extend(t for t in session.scalars(select(Answer.text).where(Answer.response_id.in_(part))) if t)
    times = [at for _, at in responses] + [m.posted_at for m in mentions]
    days = rollups.days_of(session.connection(), response_ids, invitation_ids, mention_ids)

    counts = {
        "cause_assignments": _delete(session, CauseAssignment, CauseAssignment.response_id, response_ids)
        + _delete(session, CauseAssignment, CauseAssignment.mention_id, mention_ids),
        "answers": _delete(session, Answer, Answer.response_id, response_ids),
        "responses": _delete(session, Response, Response.id, response_ids),
        "invitations": _delete(session, Invitation, Invitation.id, invitation_ids),
        "mentions": _delete(session, Mention, Mention.id, mention_ids),
    }
    counts |= erase_outcomes(session, linked)
    rollups.rebuild(session.connection(), days)  # the daily counts no longer count them
    counts |= scrub_quotes(session, texts, min(times) if times else None)
    if kind == IdentifierKind.EMAIL:
        counts |= _scrub_address(session, normalized)
    digest = keyed_hash(key, kind, normalized)
    record = ErasureRequest(
        requested_at=now,
        requested_by=requested_by[:200],
        via=via,
        identifier_kind=kind.value,
        identifier_hash=digest,
        counts=counts,
    )
    session.add(record)
    session.flush()
    return ErasureResult(record.id, kind.value, digest, counts)
