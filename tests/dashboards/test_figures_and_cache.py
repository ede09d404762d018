"""Figures from frames (titles, axes, intervals, small samples, escaped text) and the result cache."""

from __future__ import annotations

import json
from datetime import date

import polars as pl
import pytest

from feedback.analysis.figures import SMALL, breakdown_figure, to_embed, trend_figure
from feedback.analysis.metrics import Period
from feedback.dashboards.cache import ResultCache
from feedback.dashboards.tables import to_bytes

EVIL = '<img src=x onerror="alert(1)">&amp;'


def table(groups: list[str | None]) -> pl.DataFrame:
    rows = [
        {
            "period": date(2026, 11, d),
            "group": g,
            "metric": "nps",
            "value": 10.0 + d,
            "n": 10 * d,
            "low": 5.0,
            "high": 20.0 + d,
            "small_sample": d < 3,
            "target": 15.0,
        }
        for d in (2, 9, 16)
        for g in groups
    ]
    return pl.DataFrame(rows)


def test_a_trend_has_title_axes_interval_target_and_small_sample_marks() -> None:
    figure = json.loads(
        trend_figure(table([None]).drop("group"), ["nps"], "NPS by week", Period.WEEK).to_json()
    )
    names = [t["name"] for t in figure["data"]]
    assert figure["layout"]["title"]["text"] == "NPS by week"
    assert figure["layout"]["xaxis"]["title"]["text"] == "week starting"
    assert figure["layout"]["yaxis"]["title"]["text"] == "NPS"
    assert names == ["NPS: 95% interval", "NPS", "NPS: target", "small sample (n &lt; 30)"]
    assert figure["data"][3]["x"] == ["2026-11-02"]


def test_a_trend_of_one_period_spans_a_week_either_side_on_a_day_axis() -> None:
    one = table([None]).drop("group").filter(pl.col("period") == date(2026, 11, 9))
    layout = json.loads(trend_figure(one, ["nps"], "NPS", Period.WEEK).to_json())["layout"]
    assert layout["xaxis"]["type"] == "date"
    assert layout["xaxis"]["range"] == ["2026-11-02", "2026-11-16"]
    assert layout["xaxis"]["title"]["text"] == "week starting"  # the axis's title beside its range


def test_a_breakdown_ranks_reliable_groups_and_leaves_doubtful_ones_grey_at_the_bottom() -> None:
    def row(
        group: str | None, value: float, n: int, low: float, high: float, small: bool
    ) -> dict[str, object]:
        return {"group": group, "metric": "nps", "value": value, "n": n, "low": low, "high": high,
                "small_sample": small, "target": None}  # fmt: skip

    frame = pl.DataFrame(
        [
            row("best", 40.0, 100, 30.0, 50.0, False),
            row("worst", 10.0, 100, 0.0, 20.0, False),
            row("tiny", 90.0, 5, 0.0, 100.0, True),
            row(None, 70.0, 50, 60.0, 80.0, False),
        ]
    )
    figure = json.loads(breakdown_figure(frame, ["nps"], "group", "NPS by group").to_json())
    layout = figure["layout"]
    # Drawn bottom to top: doubtful groups by n, then reliable ones by value (the best at the top).
    order = ["tiny", "(none)", "worst", "best"]
    assert layout["yaxis"]["categoryarray"] == order
    assert layout["yaxis"]["tickvals"] == order
    assert [t.split(" (n=")[0] for t in layout["yaxis"]["ticktext"]] == order
    assert layout["yaxis"]["ticktext"][0].endswith("(n=5*)")
    assert layout["yaxis"]["title"]["text"] == "group"
    # Only reliable groups set the range: 0 to 50 (best's high), padded by 6% each side; tiny's 100 does not.
    assert layout["xaxis"]["range"] == pytest.approx([-3.0, 53.0])
    assert "small samples" in layout["annotations"][0]["text"]
    grey = {y for y, c in zip(figure["data"][0]["y"], figure["data"][0]["marker"]["color"], strict=True)
            if c == SMALL}  # fmt: skip
    assert grey == {"tiny", "(none)"}


def test_text_in_figures_is_escaped_and_the_json_cannot_close_its_script_element() -> None:
    figure = breakdown_figure(table([EVIL, "ok"]), ["nps"], "group", "NPS by group")
    labels = figure.data[0].y
    assert '&lt;img src=x onerror="alert(1)"&gt;&amp;amp;' in labels
    embedded = to_embed(figure)
    assert "<" not in embedded and ">" not in embedded and "&" not in embedded
    assert json.loads(embedded)["data"][0]["y"] == list(labels)


def test_cache_serves_until_the_data_changes_or_the_ttl_ends() -> None:
    cache = ResultCache(ttl_s=60)
    calls: list[int] = []

    def compute() -> int:
        calls.append(1)
        return len(calls)

    assert cache.get_or_compute("k", (1,), compute) == 1
    assert cache.get_or_compute("k", (1,), compute) == 1
    assert cache.get_or_compute("other", (1,), compute) == 2
    assert cache.get_or_compute("k", (2,), compute) == 3  # new data
    cache.ttl_s = 0.000001
    assert cache.get_or_compute("k", (2,), compute) == 4  # too old
    off = ResultCache(ttl_s=0)
    assert off.get_or_compute("k", (1,), compute) == 5 and off.get_or_compute("k", (1,), compute) == 6


def test_cache_keeps_a_bounded_number_of_results() -> None:
    cache = ResultCache(ttl_s=60, max_entries=3)
    for i in range(10):
        cache.get_or_compute(i, (), lambda i=i: i)
    assert len(cache._entries) == 3


def test_csv_keeps_formulas_from_running_and_parquet_keeps_types() -> None:
    frame = pl.DataFrame({"text": ["=1+1", "-2", "fine"], "n": [1, -2, 3], "quotes": [["a", "b"], [], ["c"]]})
    csv = to_bytes(frame, "csv").decode()
    assert csv.splitlines() == ["text,n,quotes", "'=1+1,1,a | b", '\'-2,-2,""', "fine,3,c"]
    assert pl.read_parquet(to_bytes(frame, "parquet")).equals(frame)
