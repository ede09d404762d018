"""A thin adapter over metrics/ for digests: headline numbers and trend series, many departments in
one call (one read of the database per time window, not one per department).

It depends only on ``compute_metrics``'s public result (a long table: department, metric, value, n,
small_sample, previous, change, target, target_met; with a period also ``period``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy.orm import Session

from feedback.analysis.metrics import METRICS, Period
from feedback.metrics.service import MetricsQuery, compute_metrics, period_start

HEADLINE = ("nps", "csat", "ces", "dissatisfied", "volume")
TREND_PERIODS = 12


class Headline(msgspec.Struct):
    metric: str
    label: str
    value: float | None
    n: int
    previous: float | None
    change: float | None
    target: float | None
    target_met: bool | None
    small_sample: bool
    low: float | None = None  # the 95% interval
    high: float | None = None


@dataclass(frozen=True)
class Trend:
    grain: Period
    periods: list[date]
    nps: list[float | None]
    volume: list[int]
    target: float | None  # the department's NPS target


FILTER_AT_MOST = 3


def _only(slugs: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """A department filter for a few departments. For more, none: SQLite then picks the department index
    for ``department_id IN (...)`` and reads every response of those departments, instead of the time
    window's (measured: 1.7 s against 0.2 s for 50 departments over 1M responses); the rows of other
    departments are dropped afterwards."""
    return {"department": tuple(slugs)} if len(slugs) <= FILTER_AT_MOST else {}


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def headlines(
    session: Session, slugs: Sequence[str], start: datetime, end: datetime, tz: str, min_n: int
) -> dict[str, list[Headline]]:
    """NPS, CSAT, CES, dissatisfied % and volume of each department over [start, end), against the window
    just before."""
    query = MetricsQuery(
        metrics=HEADLINE,
        by=("department",),
        since=start,
        until=end,
        tz=tz,
        filters=_only(slugs),
        min_n=min_n,
    )
    table = compute_metrics(session, query).table
    found: dict[tuple[str, str], dict[str, Any]] = {
        (row["department"], row["metric"]): row for row in table.iter_rows(named=True)
    }
    out: dict[str, list[Headline]] = {}
    for slug in slugs:
        rows = []
        for metric in HEADLINE:
            row = found.get((slug, metric))
            if row is None:
                rows.append(Headline(metric, METRICS[metric].label, None, 0, None, None, None, None, True))
                continue
            rows.append(
                Headline(
                    metric=metric,
                    label=METRICS[metric].label,
                    value=_float(row["value"]),
                    n=int(row["n"] or 0),
                    previous=_float(row.get("previous")),
                    change=_float(row.get("change")),
                    target=_float(row.get("target")),
                    target_met=row.get("target_met"),
                    small_sample=bool(row.get("small_sample")),
                    low=_float(row.get("low")),
                    high=_float(row.get("high")),
                )
            )
        out[slug] = rows
    return out


def grain_for(length: timedelta) -> Period:
    """The trend's grain for a digest period of ``length``: days for daily digests, else weeks or months."""
    if length <= timedelta(days=2):
        return Period.DAY
    if length <= timedelta(days=10):
        return Period.WEEK
    return Period.MONTH


def trends(
    session: Session, slugs: Sequence[str], end: datetime, tz: str, grain: Period, min_n: int
) -> dict[str, Trend]:
    """NPS and volume per complete period (the TREND_PERIODS before the one ``end`` falls in)."""
    until = period_start(end, grain, tz)
    since = until
    for _ in range(TREND_PERIODS):
        since = period_start(since - timedelta(seconds=1), grain, tz)
    query = MetricsQuery(
        metrics=("nps", "volume"),
        by=("department",),
        period=grain,
        since=since,
        until=until,
        tz=tz,
        filters=_only(slugs),
        min_n=min_n,
    )
    table = compute_metrics(session, query).table
    periods: list[date] = []
    day = since
    while day < until:
        periods.append(day.date())
        day = period_start(
            day + timedelta(days=32 if grain == Period.MONTH else 7 if grain == Period.WEEK else 1), grain, tz
        )
    values: dict[tuple[str, str, date], dict[str, Any]] = {
        (row["department"], row["metric"], row["period"]): row for row in table.iter_rows(named=True)
    }
    out = {}
    for slug in slugs:
        nps = [_float((values.get((slug, "nps", p)) or {}).get("value")) for p in periods]
        volume = [int((values.get((slug, "volume", p)) or {}).get("value") or 0) for p in periods]
        targets = [r.get("target") for (s, m, _), r in values.items() if s == slug and m == "nps"]
        target = next((float(t) for t in targets if t is not None), None)
        out[slug] = Trend(grain, periods, nps, volume, target)
    return out
