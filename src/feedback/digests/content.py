"""What a department's digest says for one period: pure data, built from the database, rendered elsewhere.

- **Headline**: NPS, CSAT, CES and volume over the period, the change against the period before, targets
  (metrics/, through numbers.py).
- **Items**: the department's causes, ranked by satisfaction points lost in the latest complete period of
  the causes ledger, each with why it is there (its *marks*):

  - ``reopened``  a fix that did not hold (the verification window found it coming back);
  - ``overdue``   reported, not acknowledged, and past the department's acknowledgement deadline;
  - ``new``       first seen in that ledger period;
  - ``growing``   the ledger's trend: at least 1.25 x its share over the periods before;
  - ``recurring`` back in at least RECURRING_MIN of the RECURRING_WINDOW periods before, and nobody has
                  acknowledged it yet.

  A cause being fixed (inside its verification window) is left alone; an acknowledged one shows only when
  it is new or growing. An item an earlier digest already carried for the same ledger period is not repeated
  (daily digests over a weekly ledger) unless it is reopened or overdue. At most the department's noise
  budget of items; ``more`` counts the rest. Verbatims are redacted (analysis/redact.py).
- **Verified**: fixes verified during the period (good news; not counted against the budget).
- **Quiet**: no items. The department chose a short note or nothing for such a period.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy import select
from sqlalchemy.orm import Session

from feedback.analysis.metrics import Period
from feedback.analysis.redact import redact
from feedback.config import Settings
from feedback.dashboards.headline import SCORES, collected_scores
from feedback.dashboards.headline import not_asked as score_not_asked
from feedback.digests.links import action_links
from feedback.digests.numbers import Headline, Trend, grain_for, headlines, trends
from feedback.models import (
    Answer,
    Cause,
    CauseAssignment,
    CauseFollowup,
    CauseLedger,
    CauseStatus,
    Department,
    DigestRun,
    FollowupState,
    Mention,
    RunStatus,
)
from feedback.outcomes.report import risk_by_cause_key, risk_words

RECURRING_WINDOW = 3
RECURRING_MIN = 2
VERBATIMS = 3
VERBATIM_CHARS = 300
LEDGER_LOOKBACK = timedelta(days=200)
PREVIOUS_LOOKBACK = timedelta(days=45)  # a monthly ledger period and some
MARK_ORDER = ("reopened", "overdue", "new", "growing", "recurring")
ACTIONABLE = {"reopened", "overdue"}  # repeated in every digest until someone acts


class Item(msgspec.Struct):
    rank: int
    cause: str
    cause_id: int
    name: str
    marks: list[str]
    reason: str
    count: int
    previous_count: int | None
    trend: str | None
    points_lost: float | None
    points_metric: str | None  # nps or csat
    ledger_period: str | None
    state: str | None
    verbatims: list[str] = []
    links: dict[str, str] = {}
    revenue_at_risk: str | None = None  # in words, with its interval (outcomes/report.py)


class Verified(msgspec.Struct):
    cause: str
    name: str
    fixed_at: datetime | None
    verified_at: datetime
    note: str | None


class ChartRef(msgspec.Struct):
    cid: str
    title: str
    alt: str


class Digest(msgspec.Struct):
    department: str
    department_name: str
    timezone: str
    period_start: datetime
    period_end: datetime
    period_label: str
    grain: str  # day, week, month: the word for "this period"
    headline: list[Headline]
    items: list[Item]
    more: int
    verified: list[Verified]
    quiet: bool
    dashboard_url: str
    generated_at: datetime
    run_id: int | None = None
    charts: list[ChartRef] = []
    not_asked: list[str] = []  # "Delivery's surveys do not ask NPS": scores without a tile


@dataclass(frozen=True)
class DigestRequest:
    department: Department
    start: datetime
    end: datetime
    run_id: int | None = None


@dataclass
class Built:
    digest: Digest
    trend: Trend | None
    reported: list[Cause] = field(default_factory=list)  # causes carried (their acknowledgement clock starts)


def dashboard_url(settings: Settings, slug: str) -> str:
    return f"{settings.base_url}/dashboards/department?department={slug}"


def period_label(start: datetime, end: datetime, tz: str) -> str:
    """ "16-23 Nov 2026" (local dates; the end is exclusive, so a week ending Monday 08:00 ends on Monday)."""
    zone = ZoneInfo(tz)
    first, last = start.astimezone(zone), end.astimezone(zone)
    if first.year != last.year:
        return f"{first:%-d %b %Y} - {last:%-d %b %Y}"
    if first.month != last.month:
        return f"{first:%-d %b} - {last:%-d %b %Y}"
    if first.date() == last.date():
        return f"{first:%-d %b %Y}"
    return f"{first:%-d}-{last:%-d %b %Y}"


# -- the ledger ----------------------------------------------------------------------------------------------


def ledger_period_end(row: CauseLedger) -> datetime:
    """The exclusive end (UTC) of a ledger row's period: a week ("2026-W47") or a month ("2026-11")."""
    start = row.period_start
    if "-W" in row.period:
        end: date = start + timedelta(days=7)
    else:
        end = start + timedelta(days=calendar.monthrange(start.year, start.month)[1])
    return datetime.combine(end, time(), UTC)


def _grain_word(row: CauseLedger | None) -> str:
    return "month" if row is not None and "-W" not in row.period else "week"


@dataclass
class _CauseFacts:
    cause: Cause
    rows: list[CauseLedger]  # complete periods up to the digest's end, oldest first
    followup: CauseFollowup | None

    @property
    def current(self) -> CauseLedger | None:
        return self.rows[-1] if self.rows else None


def _marks(facts: _CauseFacts, end: datetime) -> list[str]:
    followup, current = facts.followup, facts.current
    state = followup.state if followup is not None else None
    if state == FollowupState.FIXED:
        return []  # being verified: the verifier decides
    marks = []
    if state == FollowupState.REOPENED:
        marks.append("reopened")
    waiting = state in (FollowupState.REPORTED, FollowupState.REOPENED)
    if waiting and followup is not None and followup.ack_due_at is not None and followup.ack_due_at <= end:
        marks.append("overdue")
    if current is not None and current.count > 0:
        if current.trend == "new":
            marks.append("new")
        elif current.trend == "growing":
            marks.append("growing")
        before = facts.rows[-1 - RECURRING_WINDOW : -1]
        acknowledged = state in (FollowupState.ACKNOWLEDGED, FollowupState.IN_PROGRESS)
        if current.trend != "new" and not acknowledged and sum(r.count > 0 for r in before) >= RECURRING_MIN:
            marks.append("recurring")
    return marks


def _day(moment: datetime | None, tz: str) -> str:
    return f"{moment.astimezone(ZoneInfo(tz)):%-d %b}" if moment is not None else "?"


def _reason(facts: _CauseFacts, marks: list[str], tz: str) -> str:
    followup, current = facts.followup, facts.current
    word = _grain_word(current)
    parts = []
    for mark in marks:
        if mark == "reopened" and followup is not None:
            rate = f" (it ran at {followup.rate_before:.1f} a day before)" if followup.rate_before else ""
            parts.append(
                f"Reopened on {_day(followup.reopened_at, tz)}: it kept coming back after the fix of "
                f"{_day(followup.fixed_at, tz)}{rate}"
            )
        elif mark == "overdue" and followup is not None:
            parts.append(
                f"Past its acknowledgement deadline ({_day(followup.ack_due_at, tz)}); first reported "
                f"{_day(followup.first_reported_at, tz)}"
            )
        elif mark == "new" and current is not None:
            parts.append(f"New: first seen {_day(facts.cause.first_seen_at or current.first_seen_at, tz)}")
        elif mark == "growing" and current is not None:
            counts = [r.count for r in facts.rows[-1 - RECURRING_WINDOW : -1]]
            mean = sum(counts) / len(counts) if counts else 0.0
            parts.append(f"Growing: {current.count} in {current.period} against {mean:.1f} a {word} before")
        elif mark == "recurring":
            before = facts.rows[-1 - RECURRING_WINDOW : -1]
            back = sum(r.count > 0 for r in before) + 1
            parts.append(f"Recurring: in {back} of the last {len(before) + 1} {word}s, not yet acknowledged")
    return "; ".join(parts)


def _points(row: CauseLedger | None, scores: set[str]) -> tuple[float | None, str | None]:
    """What the cause costs, in a score the department collects (never NPS points without NPS answers)."""
    if row is None:
        return None, None
    if row.nps_points_lost is not None and "nps" in scores:
        return round(row.nps_points_lost, 2), "nps"
    if row.csat_points_lost is not None and "csat" in scores:
        return round(row.csat_points_lost, 2), "csat"
    return None, None


def _item(facts: _CauseFacts, marks: list[str], tz: str, scores: set[str]) -> Item:
    current = facts.current
    previous = facts.rows[-2] if len(facts.rows) > 1 else None
    points, metric = _points(current, scores)
    return Item(
        rank=0,
        cause=facts.cause.key,
        cause_id=facts.cause.id,
        name=facts.cause.name,
        marks=sorted(marks, key=MARK_ORDER.index),
        reason=_reason(facts, marks, tz),
        count=current.count if current is not None else 0,
        previous_count=previous.count if previous is not None else None,
        trend=current.trend if current is not None else None,
        points_lost=points,
        points_metric=metric,
        ledger_period=current.period if current is not None else None,
        state=facts.followup.state if facts.followup is not None else None,
    )


def _already_told(item: Item, previous: set[tuple[str, str | None]]) -> bool:
    return not (set(item.marks) & ACTIONABLE) and (item.cause, item.ledger_period) in previous


def _previous_items(session: Session, department_id: int, before: datetime) -> set[tuple[str, str | None]]:
    """(cause, ledger period) of the items the department's recent digests carried (sent or being sent)."""
    runs = session.scalars(
        select(DigestRun.content).where(
            DigestRun.department_id == department_id,
            DigestRun.period_end <= before,
            DigestRun.period_end > before - PREVIOUS_LOOKBACK,
            DigestRun.state.in_((RunStatus.SENT, RunStatus.PARTIAL, RunStatus.SENDING)),
        )
    )
    return {
        (i["cause"], i.get("ledger_period")) for content in runs for i in (content or {}).get("items", [])
    }


def verbatims_of(session: Session, cause_id: int, start: datetime, end: datetime) -> list[str]:
    """The most confident items of the cause in [start, end), redacted and shortened."""
    query = (
        select(Answer.text, Mention.text_norm)
        .select_from(CauseAssignment)
        .outerjoin(
            Answer,
            (Answer.response_id == CauseAssignment.response_id)
            & (Answer.question_id == CauseAssignment.question_id),
        )
        .outerjoin(Mention, Mention.id == CauseAssignment.mention_id)
        .where(
            CauseAssignment.cause_id == cause_id,
            CauseAssignment.occurred_at >= start,
            CauseAssignment.occurred_at < end,
        )
        .order_by(CauseAssignment.confidence.desc(), CauseAssignment.occurred_at.desc(), CauseAssignment.id)
        .limit(VERBATIMS * 3)
    )
    out: list[str] = []
    for answer, mention in session.execute(query):
        text = answer or mention
        if not text:
            continue
        clean = redact(" ".join(text.split()))
        if len(clean) > VERBATIM_CHARS:
            clean = clean[: VERBATIM_CHARS - 1].rsplit(" ", 1)[0] + "…"
        if clean not in out:
            out.append(clean)
        if len(out) == VERBATIMS:
            break
    return out


def _facts(
    session: Session, departments: Sequence[int], ends: dict[int, datetime]
) -> dict[int, list[_CauseFacts]]:
    causes = session.scalars(
        select(Cause)
        .where(Cause.department_id.in_(departments), Cause.status == CauseStatus.ACTIVE)
        .order_by(Cause.key)
    ).all()
    ids = [c.id for c in causes]
    oldest = min(ends.values()) - LEDGER_LOOKBACK
    rows: dict[int, list[CauseLedger]] = defaultdict(list)
    followups: dict[int, CauseFollowup] = {}
    if ids:
        for row in session.scalars(
            select(CauseLedger)
            .where(CauseLedger.cause_id.in_(ids), CauseLedger.period_start >= oldest.date())
            .order_by(CauseLedger.cause_id, CauseLedger.period_start)
        ):
            rows[row.cause_id].append(row)
        followups = {
            f.cause_id: f
            for f in session.scalars(select(CauseFollowup).where(CauseFollowup.cause_id.in_(ids)))
        }
    out: dict[int, list[_CauseFacts]] = defaultdict(list)
    for cause in causes:
        assert cause.department_id is not None
        end = ends[cause.department_id]
        complete = [r for r in rows.get(cause.id, []) if ledger_period_end(r) <= end]
        out[cause.department_id].append(_CauseFacts(cause, complete, followups.get(cause.id)))
    return out


def _verified(session: Session, department_id: int, start: datetime, end: datetime) -> list[Verified]:
    rows = session.execute(
        select(Cause, CauseFollowup)
        .join(CauseFollowup, CauseFollowup.cause_id == Cause.id)
        .where(
            Cause.department_id == department_id,
            CauseFollowup.state == FollowupState.VERIFIED,
            CauseFollowup.verified_at >= start,
            CauseFollowup.verified_at < end,
        )
        .order_by(CauseFollowup.verified_at)
    )
    return [
        Verified(c.key, c.name, f.fixed_at, f.verified_at, f.fix_note)
        for c, f in rows
        if f.verified_at is not None
    ]


def build_digests(
    session: Session, settings: Settings, requests: Sequence[DigestRequest], now: datetime
) -> list[Built]:
    """The digests of many departments at once (read-only): one metrics read per distinct time window."""
    if not requests:
        return []
    windows: dict[tuple[datetime, datetime, str], list[str]] = defaultdict(list)
    trend_keys: dict[tuple[datetime, str, str], list[str]] = defaultdict(list)
    for r in requests:
        windows[(r.start, r.end, r.department.timezone)].append(r.department.slug)
        grain = grain_for(r.end - r.start)
        trend_keys[(r.end, r.department.timezone, grain.value)].append(r.department.slug)
    heads: dict[tuple[str, datetime], list[Headline]] = {}
    for (start, end, tz), slugs in windows.items():
        for slug, rows in headlines(session, slugs, start, end, tz, settings.metrics_min_n).items():
            heads[(slug, end)] = rows
    series: dict[tuple[str, datetime], Trend] = {}
    for (end, tz, grain_name), slugs in trend_keys.items():
        for slug, trend in trends(
            session, slugs, end, tz, Period(grain_name), settings.metrics_min_n
        ).items():
            series[(slug, end)] = trend
    facts = _facts(session, [r.department.id for r in requests], {r.department.id: r.end for r in requests})
    asked = collected_scores(session, [r.department.id for r in requests])
    risks = risk_by_cause_key(session.get_bind())  # type: ignore[arg-type]  # once per run, every cause
    built = []
    for r in requests:
        department, tz = r.department, r.department.timezone
        scores = asked.get(department.id, set())
        shown = [
            h for h in heads.get((department.slug, r.end), []) if h.metric not in SCORES or h.metric in scores
        ]
        not_asked = [score_not_asked(department.name, m) for m in SCORES if m not in scores]
        previous = _previous_items(session, department.id, r.start + timedelta(seconds=1))
        candidates = []
        for fact in facts.get(department.id, []):
            marks = _marks(fact, r.end)
            if not marks:
                continue
            item = _item(fact, marks, tz, scores)
            if not _already_told(item, previous):
                candidates.append((item, fact))
        candidates.sort(key=lambda pair: (-(pair[0].points_lost or 0.0), -pair[0].count, pair[0].cause))
        kept = candidates[: max(0, department.noise_budget)]
        for rank, (item, fact) in enumerate(kept, start=1):
            item.rank = rank
            current = fact.current
            start, end = r.start, r.end
            if current is not None:
                start, end = datetime.combine(current.period_start, time(), UTC), ledger_period_end(current)
            item.verbatims = verbatims_of(session, fact.cause.id, start, end)
            item.links = action_links(settings, fact.cause.id, r.run_id, now)
            item.revenue_at_risk = risk_words(risks, item.cause)
        items = [item for item, _ in kept]
        verified = _verified(session, department.id, r.start, r.end)
        grain = grain_for(r.end - r.start)
        digest = Digest(
            department=department.slug,
            department_name=department.name,
            timezone=tz,
            period_start=r.start,
            period_end=r.end,
            period_label=period_label(r.start, r.end - timedelta(seconds=1), tz),
            grain=grain.value,
            headline=shown,
            not_asked=not_asked,
            items=items,
            more=len(candidates) - len(kept),
            verified=verified,
            quiet=not items,
            dashboard_url=dashboard_url(settings, department.slug),
            generated_at=now,
            run_id=r.run_id,
        )
        built.append(Built(digest, series.get((department.slug, r.end)), [fact.cause for _, fact in kept]))
    return built


def digest_from_json(content: dict[str, object]) -> Digest:
    return msgspec.convert(content, Digest, strict=False)


def digest_to_json(digest: Digest) -> dict[str, object]:
    out = msgspec.to_builtins(digest)
    assert isinstance(out, dict)
    return out
