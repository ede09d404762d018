"""The pure rules behind alerts (a spike) and the learning loop (did a fix hold)."""

from __future__ import annotations

from feedback.analysis.spikes import detect_spike, poisson_tail
from feedback.analysis.verification import judge_fix

WEEKS_4 = 28 * 24 - 3  # baseline hours before a 3-hour window


def test_a_burst_far_above_the_usual_rate_is_a_spike() -> None:
    spike = detect_spike(12, 56, WEEKS_4, 3, min_count=8, max_p=0.001)  # usually 2 a day: 0.25 in 3 hours
    assert spike is not None and spike.count == 12 and spike.expected < 0.3 and spike.p_value < 1e-10


def test_ordinary_counts_few_counts_and_busy_subjects_are_not() -> None:
    assert detect_spike(3, 56, WEEKS_4, 3, min_count=8, max_p=0.001) is None  # below the minimum count
    assert detect_spike(9, 2000, WEEKS_4, 3, min_count=8, max_p=0.001) is None  # usual for a busy subject
    assert detect_spike(8, 0, WEEKS_4, 3, min_count=8, max_p=0.001) is not None  # never seen before: a spike
    assert poisson_tail(0, 2.0) == 1.0 and 0 < poisson_tail(5, 2.0) < 0.06


def test_a_fix_that_holds_is_verified_at_the_end_of_the_window() -> None:
    early = judge_fix(56, 28, 1, 7, window_days=14, max_ratio=0.3, min_count=10)
    late = judge_fix(56, 28, 2, 14, window_days=14, max_ratio=0.3, min_count=10)
    assert early.outcome == "pending" and late.outcome == "verified"
    assert late.rate_before == 2.0 and late.allowed == 8.4


def test_a_fix_that_does_not_hold_is_reopened_as_soon_as_it_is_certain() -> None:
    verdict = judge_fix(56, 28, 9, 4, window_days=14, max_ratio=0.3, min_count=10)
    assert verdict.outcome == "reopened" and "at most 8.4" in verdict.reason


def test_with_too_few_items_before_the_fix_nothing_may_come_back() -> None:
    assert judge_fix(4, 28, 0, 14, window_days=14, max_ratio=0.3, min_count=10).outcome == "verified"
    assert judge_fix(4, 28, 1, 3, window_days=14, max_ratio=0.3, min_count=10).outcome == "reopened"
