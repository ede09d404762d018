"""Does satisfaction pay? The full pure analysis on 1M responses x ~5M outcome events (target < 30 s).

    python bench/bench_outcomes.py [--persons 1000000] [--extra-orders 3] [--json]

Synthetic customers (feedback.demo.outcome_data: a planted effect of +8 pp and a planted confounder);
times each step of the analysis the product runs: link responses to behaviour before and after them,
outcome by band (yes/no and spend), naive and adjusted difference with placebo, dose-response of a field,
revenue at risk for 20 causes. The data is made in memory first and not timed.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import polars as pl

from feedback.analysis import outcomes as an
from feedback.demo.outcome_data import AS_OF, Planted, synthetic


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--extra-orders", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    planted = Planted()
    responses, events = synthetic(1, args.persons, planted, extra_orders=args.extra_orders)
    rng = np.random.default_rng(2)
    responses = responses.with_columns(pl.Series("days_late", rng.integers(-5, 20, responses.height)))
    causes = pl.DataFrame(
        {"response_id": responses["response_id"], "cause": rng.integers(0, 20, responses.height).astype(str)}
    ).filter(responses["score"] <= 2)
    steps: dict[str, float] = {}
    cpu: dict[str, float] = {}
    start, start_cpu = time.perf_counter(), time.process_time()

    def step(name: str) -> None:
        nonlocal start, start_cpu
        now, now_cpu = time.perf_counter(), time.process_time()
        steps[name], cpu[name] = round(now - start, 2), round(now_cpu - start_cpu, 2)
        start, start_cpu = now, now_cpu

    linked = an.link_outcomes(responses, events, planted.horizon_days, AS_OF).with_columns(
        an.band_expr("csat", pl.col("score")).alias("band")
    )
    step("link")
    an.by_band(linked, "repeat_purchase")
    an.by_band(linked, "spend")
    step("by_band")
    top, bottom = pl.col("score") >= 4, pl.col("score") <= 2
    effect = an.compare(linked, "repeat_purchase", top, bottom)
    step("compare")
    an.dose_response(responses, "days_late", [0, 3, 7, 14], low_scores=(1, 2))
    step("dose_response")
    an.revenue_at_risk(linked, causes, "repeat_purchase", top, 40.0)
    step("revenue_at_risk")
    total = round(sum(steps.values()), 2)
    result = {
        "responses": responses.height,
        "events": events.height,
        "seconds": steps,
        "total_s": total,
        "cpu_seconds": cpu,  # CPU time of this process (all threads): less sensitive to a busy machine
        "total_cpu_s": round(sum(cpu.values()), 2),
        "target_s": 30,
        "met": total < 30,
        "adjusted_pp": effect.adjusted.value if effect.adjusted else None,
        "naive_pp": effect.naive.value if effect.naive else None,
        "cores": os.cpu_count(),
        "load_average": os.getloadavg(),
    }
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
