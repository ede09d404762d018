"""Drop free text older than FEEDBACK_RETENTION_TEXT_DAYS; keep every score and sentiment number.

What goes, by the age of the text: answers' ``text`` (of responses submitted before the cutoff; the score,
choice, polarity and subjectivity stay), mentions' ``text`` and ``text_norm`` (posted before the cutoff; the
author, URL, counts, polarity and ``text_hash``, which only spots copied text, stay), the cause verbatims that
quote a dropped text, and the quotes in digests (period ended before the cutoff) and alerts (fired before
it), whose numbers stay.

Work goes in batches of ``batch_size`` rows, each committed on its own: a 1M-row table never holds one giant
transaction, a crash leaves whole batches done, and a rerun does the rest. Rows already done no longer match,
so running it twice changes nothing the second time.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from feedback.db import transaction
from feedback.models import Alert, Answer, DigestRun, Mention, Response, RunStatus
from feedback.privacy.erase import scrub_quotes
from feedback.privacy.quotes import (
    REMOVED,
    quote_forms,
    quoted_in_html,
    quoted_in_json,
    scrub_json,
    scrub_text,
)

BATCH_SIZE = 1000
FINISHED = (RunStatus.SENT, RunStatus.PARTIAL, RunStatus.FAILED, RunStatus.QUIET, RunStatus.MISSED)
TEXT_QUOTE = re.compile(r'(?m)^ {2,3}"(.*)"$')  # a quote line of digest.txt (3 spaces) and alert.txt (2)


def cutoff_for(days: int, now: datetime) -> datetime | None:
    """The moment before which text is dropped; None when text is kept forever (0 days)."""
    return now - timedelta(days=days) if days > 0 else None


def _answers_batch(session: Session, cutoff: datetime, size: int) -> int:
    rows = session.execute(
        select(Answer.response_id, Answer.text)
        .join(Response, Response.id == Answer.response_id)
        .where(Answer.text.is_not(None), Response.submitted_at < cutoff)
        .limit(size)
    ).all()
    if not rows:
        return 0
    ids = list({r.response_id for r in rows})
    session.execute(
        update(Answer)
        .where(Answer.response_id.in_(ids), Answer.text.is_not(None))
        .values(text=None)
        .execution_options(synchronize_session=False)
    )
    scrub_quotes(session, [r.text for r in rows if r.text], None)
    return len(rows)


def _mentions_batch(session: Session, cutoff: datetime, size: int) -> int:
    rows = session.execute(
        select(Mention.id, Mention.text, Mention.text_norm)
        .where(Mention.posted_at < cutoff, Mention.text != "")
        .limit(size)
    ).all()
    if not rows:
        return 0
    session.execute(
        update(Mention)
        .where(Mention.id.in_([r.id for r in rows]))
        .values(text="", text_norm="")
        .execution_options(synchronize_session=False)
    )
    scrub_quotes(session, [t for r in rows for t in (r.text, r.text_norm)], None)
    return len(rows)


def _forms(quotes: set[str]) -> set[str]:
    return {form for q in quotes if q != REMOVED for form in quote_forms(q)}


def _digests_batch(session: Session, cutoff: datetime, size: int, after: int) -> tuple[int, int]:
    runs = session.scalars(
        select(DigestRun)
        .where(DigestRun.id > after, DigestRun.period_end < cutoff, DigestRun.state.in_(FINISHED))
        .order_by(DigestRun.id)
        .limit(size)
    ).all()
    changed = 0
    for run in runs:
        quotes = (
            quoted_in_json(run.content) | quoted_in_html(run.html) | set(TEXT_QUOTE.findall(run.text or ""))
        )
        forms = _forms(quotes)
        if not forms:
            continue
        run.content = scrub_json(run.content, forms) if run.content is not None else None
        run.html = scrub_text(run.html, forms) if run.html is not None else None
        run.text = scrub_text(run.text, forms) if run.text is not None else None
        changed += 1
    return changed, runs[-1].id if runs else -1


def _alerts_batch(session: Session, cutoff: datetime, size: int, after: int) -> tuple[int, int]:
    alerts = session.scalars(
        select(Alert).where(Alert.id > after, Alert.fired_at < cutoff).order_by(Alert.id).limit(size)
    ).all()
    changed = 0
    for alert in alerts:
        forms = _forms(quoted_in_html(alert.html) | set(TEXT_QUOTE.findall(alert.text)))
        if not forms:
            continue
        alert.detail = scrub_json(alert.detail, forms)
        alert.html = scrub_text(alert.html, forms) if alert.html is not None else None
        alert.text = scrub_text(alert.text, forms)
        changed += 1
    return changed, alerts[-1].id if alerts else -1


def _drain(sessions: sessionmaker[Session], step: Callable[[Session], int]) -> int:
    total = 0
    while True:
        with transaction(sessions) as session:
            done = step(session)
        if not done:
            return total
        total += done


def _walk(sessions: sessionmaker[Session], step: Callable[[Session, int], tuple[int, int]]) -> int:
    """Visit every row once by id (keyset), one committed batch at a time."""
    total, after = 0, 0
    while True:
        with transaction(sessions) as session:
            changed, last = step(session, after)
        total += changed
        if last < 0:
            return total
        after = last


def retain_text(
    sessions: sessionmaker[Session], days: int, now: datetime, batch_size: int = BATCH_SIZE
) -> dict[str, Any]:
    """Drop free text older than ``days`` (0: keep forever); how many rows of each kind lost text."""
    cutoff = cutoff_for(days, now)
    if cutoff is None:
        return {"cutoff": None, "answers": 0, "mentions": 0, "digest_runs": 0, "alerts": 0}
    return {
        "cutoff": cutoff,
        "answers": _drain(sessions, lambda s: _answers_batch(s, cutoff, batch_size)),
        "mentions": _drain(sessions, lambda s: _mentions_batch(s, cutoff, batch_size)),
        "digest_runs": _walk(sessions, lambda s, after: _digests_batch(s, cutoff, batch_size, after)),
        "alerts": _walk(sessions, lambda s, after: _alerts_batch(s, cutoff, batch_size, after)),
    }
