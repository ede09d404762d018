"""Is a count in the last few hours far above its usual level? (Alerts between digests.)

The usual level is the rate over a baseline (the previous weeks, without the window itself), smoothed by
half an event so that a subject never seen before still has a finite, small rate. Under that rate the
window's count is Poisson; the count is a spike when it is at least ``min_count``, at least ``min_ratio``
times what was expected, and so unlikely (the upper tail P(X >= count)) that chance is no explanation
(``max_p``). The minimum count keeps one or two complaints about a rare cause from ringing anyone's phone.
"""

from __future__ import annotations

from dataclasses import dataclass

from scipy.stats import poisson

PRIOR_EVENTS = 0.5


@dataclass(frozen=True)
class Spike:
    count: int
    expected: float  # in the window, at the baseline rate
    p_value: float  # P(X >= count) under the baseline rate

    @property
    def ratio(self) -> float:
        return self.count / self.expected if self.expected > 0 else float("inf")


def poisson_tail(count: int, expected: float) -> float:
    """P(X >= count) for X ~ Poisson(expected)."""
    if count <= 0:
        return 1.0
    return float(poisson.sf(count - 1, expected))


def detect_spike(
    count: int,
    baseline_count: int,
    baseline_hours: float,
    window_hours: float,
    *,
    min_count: int,
    max_p: float,
    min_ratio: float = 3.0,
) -> Spike | None:
    """A Spike when ``count`` in ``window_hours`` is far above the baseline's rate, else None."""
    if baseline_hours <= 0 or window_hours <= 0:
        raise ValueError("baseline and window must be positive durations")
    expected = (baseline_count + PRIOR_EVENTS) / baseline_hours * window_hours
    if count < min_count or count < min_ratio * expected:
        return None
    p_value = poisson_tail(count, expected)
    return Spike(count, expected, p_value) if p_value <= max_p else None
