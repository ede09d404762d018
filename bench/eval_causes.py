"""Quality of root causes on real data (labels are only read here, never by the engine).

    python bench/eval_causes.py compare                                  # every method on every set (table)
    python bench/eval_causes.py compare --sets banking-tune --methods embeddings --tolerance 0.01
    python bench/eval_causes.py names                                    # 20 cluster names, 3 members each
    python bench/eval_causes.py assignment --engine default              # CFPB: issue and product accuracy

``compare`` clusters each labelled set of bench/eval_sets.py with the labels hidden and compares the clusters
with the labels, for the project's two engines (resolution chosen from the data, k never given), BERTopic
with the same embeddings (its defaults: UMAP + HDBSCAN, min_topic_size 10; the ``eval`` extra) and k-means
given the true number of problems. These two peers change with the rows' order: each runs ``--peer-runs``
times (5) on reordered rows, and the table shows the mean and standard deviation. Items left out
(unclustered, BERTopic's outliers) are counted two ways: as one more group ("all"), and dropped ("covered",
with the share covered). Stability: the same rows in another order, ARI between the two runs (a peer: the
mean ARI of its first run with each other run). Seconds: clustering only, per run; the embedding methods share
vectors cached in bench/results/embeddings (all-MiniLM-L6-v2, about 220 texts/s here), the default engine
computes its own.
Tuning used ``banking-tune`` (and, for long texts, the ``-tune`` halves of cfpb and clothing); the other sets
and halves are held out. Results: bench/results/eval_causes.jsonl.

Assignment: CFPB narratives assigned to bench/cfpb_taxonomy.toml (built from issue and product names only);
accuracy of the issue and of the product (merged names) as department, against always answering the most
frequent one; then the same over the most confident 50%, 25% and 10% of the narratives (``by_coverage``),
each beside the majority answer over those same narratives.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from sklearn.metrics import adjusted_mutual_info_score, adjusted_rand_score, normalized_mutual_info_score

sys.path.insert(0, str(Path(__file__).parent))
from cfpb_products import department_slug
from eval_sets import DATA, SETS, EvalSet, load, vectors_of
from feedback.analysis.causes.engines import DefaultEngine, pick_engine
from feedback.analysis.causes.features import normalize_text
from feedback.analysis.causes.pipeline import CauseParams, run_batch
from feedback.analysis.causes.taxonomy import read_taxonomy

HERE = Path(__file__).parent
RESULTS = HERE / "results" / "eval_causes.jsonl"
METHODS = ("default", "embeddings", "bertopic", "kmeans")
Clusterer = Callable[[list[str], np.ndarray], np.ndarray]


def scores(truth: Sequence[str], labels: np.ndarray) -> dict[str, float]:
    covered = labels >= 0
    truth_arr = np.asarray(truth)
    return {
        "clusters": len(set(labels[covered].tolist())),
        "coverage": round(float(covered.mean()), 4),
        "nmi": round(normalized_mutual_info_score(truth, labels), 4),
        "ari": round(adjusted_rand_score(truth, labels), 4),
        # NMI corrected for chance: NMI rises with the number of clusters, even for random ones
        "ami": round(adjusted_mutual_info_score(truth, labels), 4),
        "nmi_covered": round(normalized_mutual_info_score(truth_arr[covered], labels[covered]), 4),
        "ari_covered": round(adjusted_rand_score(truth_arr[covered], labels[covered]), 4),
    }


class CachedSpace:
    """The embeddings engine's space, answered from cached vectors (the same model, embedded once)."""

    def __init__(self, table: dict[str, np.ndarray]) -> None:
        self.table = table

    def dense(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([self.table[normalize_text(t)] for t in texts]).astype(np.float32)

    def sparse_or_dense(self, texts: Sequence[str]) -> np.ndarray:
        return self.dense(texts)


class CachedEmbeddings:
    name = "embeddings"
    stable_space = True

    def __init__(self, texts: list[str], vectors: np.ndarray) -> None:
        self.space = CachedSpace({normalize_text(t): v for t, v in zip(texts, vectors, strict=True)})

    def fit(self, corpus: Sequence[str]) -> CachedSpace:
        return self.space


def project(engine_name: str, params: CauseParams) -> Clusterer:
    def run(texts: list[str], vectors: np.ndarray) -> np.ndarray:
        engine = DefaultEngine() if engine_name == "default" else CachedEmbeddings(texts, vectors)
        return run_batch(texts, [], engine, params).cluster_of_row  # type: ignore[arg-type]

    return run


def bertopic(texts: list[str], vectors: np.ndarray) -> np.ndarray:
    from bertopic import BERTopic

    topics, _ = BERTopic(calculate_probabilities=False).fit_transform(texts, embeddings=vectors)
    return np.asarray(topics, dtype=np.int64)


def kmeans_true_k(k: int) -> Clusterer:
    def run(texts: list[str], vectors: np.ndarray) -> np.ndarray:
        from sklearn.cluster import KMeans

        return KMeans(n_clusters=k, n_init=3, random_state=0).fit_predict(vectors).astype(np.int64)

    return run


STOCHASTIC = ("bertopic", "kmeans")  # their result changes with the rows' order (UMAP, k-means' seeds)


def _reordered(data: EvalSet, vectors: np.ndarray, clusterer: Clusterer, seed: int) -> np.ndarray:
    """The clusters of the rows shuffled by ``seed``, given back in the rows' own order."""
    order = list(range(len(data.texts)))
    random.Random(seed).shuffle(order)
    labels = clusterer([data.texts[i] for i in order], vectors[order])
    back = np.empty(len(order), dtype=np.int64)
    back[order] = labels
    return back


def evaluate(
    data: EvalSet, method: str, params: CauseParams, stability: bool, peer_runs: int = 1
) -> dict[str, object]:
    """One run of ``method`` on ``data``; a stochastic peer (STOCHASTIC) runs ``peer_runs`` times on
    reorderings of the rows, and its figures are the runs' means (NMI and ARI with their standard
    deviations): one lucky or unlucky run says little of a method whose result changes from run to run."""
    vectors = vectors_of(data) if method != "default" else np.zeros((len(data.texts), 0))
    clusterer: Clusterer = {
        "default": project("default", params),
        "embeddings": project("embeddings", params),
        "bertopic": bertopic,
        "kmeans": kmeans_true_k(len(set(data.truth))),
    }[method]
    runs = peer_runs if method in STOCHASTIC else 1
    started = time.perf_counter()
    labels = [clusterer(list(data.texts), vectors)]
    labels += [_reordered(data, vectors, clusterer, 100 + run) for run in range(1, runs)]
    seconds = (time.perf_counter() - started) / runs
    figures = [scores(data.truth, run) for run in labels]
    mean = {k: round(float(np.mean([f[k] for f in figures])), 4) for k in figures[0]}
    record: dict[str, object] = {
        "set": data.name, "method": method, "texts": len(data.texts), "problems": len(set(data.truth)),
        **(figures[0] if runs == 1 else mean),
        "seconds": round(seconds, 1),
    }  # fmt: skip
    if runs > 1:
        record["clusters"] = round(float(record["clusters"]), 1)  # type: ignore[arg-type]  # a mean
        record["runs"] = runs
        for key in ("nmi", "ari", "ami"):
            record[f"{key}_sd"] = round(float(np.std([f[key] for f in figures], ddof=1)), 4)
        record["stability_ari"] = round(
            float(np.mean([adjusted_rand_score(labels[0], other) for other in labels[1:]])), 4
        )
    elif stability:
        again = _reordered(data, vectors, clusterer, 1)
        record["stability_ari"] = round(adjusted_rand_score(labels[0], again), 4)
    return record


def compare(
    sets: list[str], methods: list[str], params: CauseParams, stability: bool, peer_runs: int = 1
) -> list[dict[str, object]]:
    out = []
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    for name in sets:
        data = load(name)
        for method in methods:
            record = evaluate(data, method, params, stability, peer_runs)
            if method in ("default", "embeddings"):
                record["params"] = {k: v for k, v in params.__dict__.items() if v is not None}
            print(json.dumps(record), flush=True)
            with RESULTS.open("a", encoding="utf-8") as log:
                log.write(json.dumps(record) + "\n")
            out.append(record)
    print(table(out))
    return out


def table(records: list[dict[str, object]]) -> str:
    head = ("| set (texts, problems) | method | clusters | coverage | NMI | ARI | AMI | NMI covered "
            "| ARI covered | stability ARI | seconds |\n|---|---|" + "---:|" * 9)  # fmt: skip
    lines = [head]
    for r in records:
        method, nmi, ari = r["method"], f"{r['nmi']:.3f}", f"{r['ari']:.3f}"
        ami = f"{r['ami']:.3f}" if "ami" in r else ""  # records before AMI was measured have none
        if "runs" in r:  # a stochastic peer: the mean of its runs, and their spread
            method, nmi, ari = (
                f"{method}, mean of {r['runs']} runs",
                f"{nmi} ± {r['nmi_sd']:.3f}",
                f"{ari} ± {r['ari_sd']:.3f}",
            )
            ami = f"{ami} ± {r['ami_sd']:.3f}" if "ami_sd" in r else ami
        lines.append(
            f"| {r['set']} ({r['texts']:,}, {r['problems']}) | {method} | {r['clusters']} "
            f"| {float(r['coverage']):.1%} | {nmi} | {ari} | {ami} | {r['nmi_covered']:.3f} "
            f"| {r['ari_covered']:.3f} | {r.get('stability_ari', '')} | {r['seconds']} |"
        )
    return "\n".join(lines)


def names(count: int = 20) -> None:
    """Every tenth cluster of banking-heldout (16 at most), then the largest of clothing up to ``count`` in
    all: name, three members."""
    for name, step in (("banking-heldout", 10), ("clothing", 1)):
        data = load(name)
        engine = CachedEmbeddings(data.texts, vectors_of(data))
        result = run_batch(data.texts, [], engine, CauseParams())  # type: ignore[arg-type]
        chosen = result.clusters[::step][: min(16, count) if step > 1 else count]
        count -= len(chosen)
        for c in chosen:
            members = " · ".join(f'"{v[:90]}"' for v in c.verbatims)
            print(f"| {name} | {c.number + 1} | {c.size} | {c.cohesion:.2f} | **{c.label}** | {members} |")


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
    parser.add_argument("what", choices=["compare", "names", "assignment"])
    parser.add_argument("--engine", default="default", choices=["default", "embeddings"])
    parser.add_argument("--sets", default=",".join(s for s in SETS if s != "banking-tune"))
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument(
        "--resolution", type=float, default=None, help="fixed (default: chosen from the data)"
    )
    parser.add_argument("--neighbours", type=int, default=None)
    parser.add_argument("--tolerance", type=float, default=None, help="default: the engine's")
    parser.add_argument("--scan-size", type=int, default=CauseParams.scan_size)
    parser.add_argument("--margin", type=float, default=CauseParams.margin)
    parser.add_argument("--min-size", type=int, default=5)
    parser.add_argument("--no-stability", action="store_true")
    parser.add_argument(
        "--peer-runs", type=int, default=5, help="runs of BERTopic and k-means on reordered rows (mean, sd)"
    )
    parser.add_argument(
        "--second-order", type=int, choices=[0, 1], default=None, help="1: link similarity profiles"
    )
    args = parser.parse_args()
    if args.what == "compare":
        params = CauseParams(
            min_size=args.min_size, resolution=args.resolution, neighbours=args.neighbours,
            tolerance=args.tolerance, scan_size=args.scan_size, margin=args.margin,
            second_order=None if args.second_order is None else bool(args.second_order),
        )  # fmt: skip
        compare(args.sets.split(","), args.methods.split(","), params, not args.no_stability, args.peer_runs)
    elif args.what == "names":
        names()
    else:
        assignment(args.engine)


if __name__ == "__main__":
    main()
