"""Quality of root causes on real data (labels are only read here, never by the engine).

    python bench/eval_causes.py discovery --engine default        # BANKING77: NMI/ARI, stability
    python bench/eval_causes.py discovery --engine embeddings --resolution 4,8,12
    python bench/eval_causes.py assignment --engine default       # CFPB: issue and product accuracy

Discovery clusters the 10,003 BANKING77 requests with the labels hidden, then compares the clusters with
`category`. Items left out of every repeated cluster are reported two ways: all items with the unclustered as
one more group, and clustered items only (with the share clustered). Stability: the same rows in another
order, ARI between the two runs. Assignment: CFPB narratives assigned to bench/cfpb_taxonomy.toml (built
from issue and product names only); accuracy of the issue and of the product (merged names) as department,
against always answering the most frequent one; then the same over the most confident 50%, 25% and 10% of
the narratives (``by_coverage``), each beside the majority answer over those same narratives.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

sys.path.insert(0, str(Path(__file__).parent))
from cfpb_products import department_slug
from feedback.analysis.causes.engines import pick_engine
from feedback.analysis.causes.pipeline import ENGINE_DEFAULTS, CauseParams, run_batch
from feedback.analysis.causes.taxonomy import read_taxonomy

HERE = Path(__file__).parent
DATA = HERE.parent.parent / "shared" / "data"


def scores(truth: list[str], labels: np.ndarray) -> dict[str, float]:
    clustered = labels >= 0
    truth_arr = np.asarray(truth)
    return {
        "clusters": int(labels.max()) + 1 if len(labels) else 0,
        "share_clustered": round(float(clustered.mean()), 4),
        "nmi_all": round(normalized_mutual_info_score(truth, labels), 4),
        "ari_all": round(adjusted_rand_score(truth, labels), 4),
        "nmi_clustered": round(normalized_mutual_info_score(truth_arr[clustered], labels[clustered]), 4),
        "ari_clustered": round(adjusted_rand_score(truth_arr[clustered], labels[clustered]), 4),
    }


def discovery(
    engine_name: str, resolutions: list[float | None], min_size: int, stability: bool
) -> list[dict]:
    with (DATA / "banking77" / "train.csv").open(newline="", encoding="utf-8") as src:
        rows = list(csv.DictReader(src))
    texts = [r["text"] for r in rows]
    truth = [r["category"] for r in rows]
    engine = pick_engine(engine_name)
    out = []
    for resolution in resolutions:
        params = CauseParams(min_size=min_size, resolution=resolution)
        started = time.perf_counter()
        result = run_batch(texts, [], engine, params)
        seconds = time.perf_counter() - started
        record = {
            "engine": engine.name,
            "resolution": resolution or ENGINE_DEFAULTS[engine.name]["resolution"],
            "automatic": resolution is None,
            "min_size": min_size,
            "seconds": round(seconds, 1),
            **scores(truth, result.cluster_of_row),
        }
        if stability and resolution is None:
            order = list(range(len(texts)))
            random.Random(1).shuffle(order)
            again = run_batch([texts[i] for i in order], [], engine, params)
            back = np.empty(len(texts), dtype=np.int64)
            back[order] = again.cluster_of_row
            record["stability_ari_shuffled"] = round(adjusted_rand_score(result.cluster_of_row, back), 4)
            record["identical_after_shuffle"] = bool(np.array_equal(result.cluster_of_row, back))
        print(json.dumps(record), flush=True)
        out.append(record)
    return out


def majority_share(values: np.ndarray) -> float:
    return Counter(values.tolist()).most_common(1)[0][1] / len(values) if len(values) else 0.0


def coverage_curve(
    confidence: np.ndarray,
    issue_ok: np.ndarray,
    route_ok: np.ndarray,
    issues: np.ndarray,
    departments: np.ndarray,
) -> list[dict[str, float]]:
    """Accuracy over the most confident share of items, beside the majority answer over that same share.

    A threshold only helps if the items it keeps are answered better than always naming their most
    frequent issue (or product) would answer them.
    """
    out = []
    for coverage in (1.0, 0.5, 0.25, 0.1):
        floor = float(np.quantile(confidence, 1 - coverage))
        kept = confidence >= floor
        out.append(
            {
                "coverage": round(float(kept.mean()), 4),
                "min_confidence": round(floor, 4),
                "issue_accuracy": round(float(issue_ok[kept].mean()), 4),
                "issue_majority": round(majority_share(issues[kept]), 4),
                "routing_accuracy": round(float(route_ok[kept].mean()), 4),
                "routing_majority": round(majority_share(departments[kept]), 4),
            }
        )
    return out


def assignment(engine_name: str) -> dict:
    taxonomy = read_taxonomy(HERE / "cfpb_taxonomy.toml")
    with (DATA / "cfpb" / "complaints_sample.csv").open(newline="", encoding="utf-8") as src:
        rows = [r for r in csv.DictReader(src) if r["Consumer complaint narrative"].strip()]
    texts = [r["Consumer complaint narrative"] for r in rows]
    issues = [r["Issue"] for r in rows]
    departments = [department_slug(r["Product"]) for r in rows]
    engine = pick_engine(engine_name)
    started = time.perf_counter()
    result = run_batch(texts, taxonomy.causes, engine, CauseParams(), discover=False)
    seconds = time.perf_counter() - started
    best = [taxonomy.causes[c] for c in result.assignment.best.tolist()]
    issue_ok = np.array([b.name == i for b, i in zip(best, issues, strict=True)])
    route_ok = np.array([b.department == d for b, d in zip(best, departments, strict=True)])
    confident = result.assignment.cause >= 0
    issues_arr, departments_arr = np.asarray(issues), np.asarray(departments)
    record = {
        "engine": engine.name,
        "narratives": len(rows),
        "causes_in_taxonomy": len(taxonomy.causes),
        "seconds": round(seconds, 1),
        "issue_accuracy": round(float(issue_ok.mean()), 4),
        "issue_majority_baseline": round(Counter(issues).most_common(1)[0][1] / len(rows), 4),
        "product_routing_accuracy": round(float(route_ok.mean()), 4),
        "product_majority_baseline": round(Counter(departments).most_common(1)[0][1] / len(rows), 4),
        "threshold": CauseParams().threshold(engine.name),
        "share_above_threshold": round(float(confident.mean()), 4),
        "issue_accuracy_above_threshold": round(float(issue_ok[confident].mean()), 4)
        if confident.any()
        else None,
        "routing_accuracy_above_threshold": round(float(route_ok[confident].mean()), 4)
        if confident.any()
        else None,
        "by_coverage": coverage_curve(
            result.assignment.confidence, issue_ok, route_ok, issues_arr, departments_arr
        ),
    }
    print(json.dumps(record), flush=True)
    return record


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("what", choices=["discovery", "assignment"])
    parser.add_argument("--engine", default="default", choices=["default", "embeddings"])
    parser.add_argument("--resolution", default="", help="comma-separated; empty: the engine's default only")
    parser.add_argument("--min-size", type=int, default=5)
    parser.add_argument("--no-stability", action="store_true")
    args = parser.parse_args()
    if args.what == "discovery":
        resolutions: list[float | None] = [None] + [float(r) for r in args.resolution.split(",") if r]
        discovery(args.engine, resolutions, args.min_size, not args.no_stability)
    else:
        assignment(args.engine)


if __name__ == "__main__":
    main()
