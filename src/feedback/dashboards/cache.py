"""Dashboard results kept for a short time, and dropped as soon as the data they came from changes.

An entry is used only while it is younger than the TTL (FEEDBACK_DASHBOARD_CACHE_S, 60 s; 0 turns the cache
off) and the database's fingerprint is still the one it was computed at. The fingerprint is a handful of
index lookups (about a millisecond on a million responses): the newest response's time, the newest mention
and invitation, the last complete root-cause analysis, the causes' last change, the targets, the last
erasure and the newest outcome event and identity. So a new answer, mention, analysis run, cause decision,
target, erasure or outcome import shows on the next page view; a response stored with a time in the past
(a backfill) shows once the TTL has passed. Outcome figures, the costliest part of a page, and root causes are
kept apart on fingerprints of their own (``outcomes_fingerprint``, ``causes_fingerprint``) that a new answer
does not change.

Keys hold everything a result depends on, the caller's scope among them: one department head's result is
never served to another caller.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from feedback.accounts.access import Caller
from feedback.models import (
    AnalysisRun,
    Cause,
    CauseEvent,
    CauseFollowup,
    CustomerIdentity,
    ErasureRequest,
    Invitation,
    Mention,
    OutcomeEvent,
    Response,
    RunState,
    Survey,
    Target,
)
from feedback.privacy import exposure

T = TypeVar("T")
MAX_ENTRIES = 256


def data_fingerprint(session: Session) -> tuple[Any, ...]:
    """What changes whenever data a dashboard shows changes (cheap: indexes and small tables only)."""
    row = session.execute(
        select(
            select(func.max(Response.submitted_at)).scalar_subquery(),
            select(func.max(Mention.id)).scalar_subquery(),
            select(func.max(Invitation.id)).scalar_subquery(),
            select(func.max(AnalysisRun.id)).where(AnalysisRun.state == RunState.COMPLETE).scalar_subquery(),
            select(func.max(Cause.updated_at)).scalar_subquery(),
            select(func.max(CauseFollowup.updated_at)).scalar_subquery(),  # a head acted on a cause
            select(func.count(Target.id)).scalar_subquery(),
            select(func.sum(Target.target)).scalar_subquery(),
            select(func.max(ErasureRequest.id)).scalar_subquery(),  # an erased customer leaves at once
            select(func.max(OutcomeEvent.id)).scalar_subquery(),  # outcomes imported: revenue at risk
            select(func.max(CustomerIdentity.id)).scalar_subquery(),
            select(func.max(Survey.updated_at)).scalar_subquery(),  # e.g. a survey's own bands changed
        )
    ).one()
    return tuple(row)


# Outcome and cause figures (below): a backfill that no fingerprint sees shows within 15 minutes.
KEPT_TTL_S = 900.0


def outcomes_fingerprint(session: Session) -> tuple[Any, ...]:
    """What the outcome figures ("Does satisfaction pay?", revenue at risk) change with: outcome events,
    identities, erasures, the surveys' bands and the latest analysis run. Not new answers: the figures count
    only responses up to the last outcome event (outcomes/report.py), so a page after a new answer reuses
    them; a backfill of answers older than that shows once ``KEPT_TTL_S`` has passed."""
    row = session.execute(
        select(
            select(func.max(OutcomeEvent.id)).scalar_subquery(),
            select(func.max(CustomerIdentity.id)).scalar_subquery(),
            select(func.max(ErasureRequest.id)).scalar_subquery(),
            select(func.max(Survey.updated_at)).scalar_subquery(),
            select(func.max(AnalysisRun.id)).where(AnalysisRun.state == RunState.COMPLETE).scalar_subquery(),
            select(func.max(Cause.updated_at)).scalar_subquery(),  # a cause renamed or merged
        )
    ).one()
    return tuple(row)


def causes_fingerprint(session: Session) -> tuple[Any, ...]:
    """What the root-cause panels change with: an analysis run (their counts and ledger), a cause's or a
    follow-up's change, a cause event, and what their revenue at risk changes with. Not new answers: causes
    count the answers of analysis runs."""
    row = session.execute(
        select(
            select(func.max(CauseFollowup.updated_at)).scalar_subquery(),
            select(func.max(CauseEvent.id)).scalar_subquery(),
        )
    ).one()
    return (*outcomes_fingerprint(session), *row)


class ResultCache:
    """A small LRU of results with a time to live and a data fingerprint (thread-safe)."""

    def __init__(self, ttl_s: float, max_entries: int = MAX_ENTRIES) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, tuple[float, tuple[Any, ...], Any]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get_or_compute(
        self,
        key: Hashable,
        fingerprint: tuple[Any, ...],
        compute: Callable[[], T],
        ttl_s: float | None = None,
    ) -> T:
        """The result for ``key`` while its fingerprint holds and it is younger than ``ttl_s`` (default: the
        cache's); a cache whose own TTL is 0 keeps nothing."""
        if self.ttl_s <= 0:
            return compute()
        now = time.monotonic()
        ttl = self.ttl_s if ttl_s is None else ttl_s
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and now - entry[0] < ttl and entry[1] == fingerprint:
                self._entries.move_to_end(key)
                self.hits += 1
                value: T = entry[2]
                return value
            self.misses += 1
        value = compute()
        with self._lock:
            self._entries[key] = (now, fingerprint, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


_caches: dict[str, ResultCache] = {}
_caches_lock = threading.Lock()


def cache_for(database_url: str, ttl_s: float) -> ResultCache:
    """The cache of one database (each app, test or command on another database has its own)."""
    with _caches_lock:
        cache = _caches.get(database_url)
        if cache is None or cache.ttl_s != ttl_s:
            cache = _caches[database_url] = ResultCache(ttl_s)
        return cache


def audience(caller: Caller) -> tuple[int | None, bool]:
    """What of the data ``caller`` sees (their department or all, personal data or not): callers with the
    same audience see the same page, so it keys the cache."""
    return caller.scope(), exposure.sees_personal_data(caller)
