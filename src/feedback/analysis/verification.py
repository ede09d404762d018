"""Did a fix work? Compare how often a cause came back after it was marked fixed with how often before.

``rate_before`` is the cause's items per day over the days before the fix. Over a verification window of
``window_days`` the fix may let through at most ``max_ratio`` of what that rate predicts:

    allowed = max_ratio x rate_before x window_days

- more items than ``allowed`` so far: **reopened** (at once; waiting longer cannot undo it);
- the whole window observed, within ``allowed``: **verified**;
- otherwise: **pending**.

With fewer than ``min_count`` items before the fix the before-rate says little, so nothing may come back at
all (allowed = 0). A pure function: the caller counts, this decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Outcome = Literal["pending", "verified", "reopened"]


@dataclass(frozen=True)
class FixVerdict:
    outcome: Outcome
    rate_before: float  # items per day
    rate_after: float | None  # items per day observed so far (None before any day is observed)
    allowed: float  # items allowed over the whole window
    reason: str


def judge_fix(
    count_before: int,
    days_before: float,
    count_after: int,
    days_observed: float,
    *,
    window_days: float,
    max_ratio: float,
    min_count: int,
) -> FixVerdict:
    rate_before = count_before / days_before if days_before > 0 else 0.0
    small = count_before < min_count
    allowed = 0.0 if small else max_ratio * rate_before * window_days
    rate_after = count_after / days_observed if days_observed > 0 else None
    observed = f"{count_after} in {days_observed:.1f} of {window_days:g} days"
    before = f"{count_before} in the {days_before:.0f} days before the fix ({rate_before:.2f}/day)"
    if count_after > allowed:
        limit = (
            "none may come back (too few before the fix to judge a rate)"
            if small
            else (f"at most {allowed:.1f} ({max_ratio:.0%} of the rate before)")
        )
        return FixVerdict("reopened", rate_before, rate_after, allowed, f"{observed}; {limit}; {before}")
    if days_observed >= window_days:
        return FixVerdict(
            "verified", rate_before, rate_after, allowed, f"{observed}, allowed {allowed:.1f}; {before}"
        )
    return FixVerdict(
        "pending", rate_before, rate_after, allowed, f"{observed} so far, allowed {allowed:.1f}"
    )
