"""All steps over one batch of negative texts: fit the engine's space once, assign to the known causes,
cluster the rest, and describe each repeated cluster (terms, label, verbatims, centroid, suggested owner).

The CSV commands and ``feedback analyze`` both go through here: a file and the database get the same result.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from feedback.analysis.causes.assign import Assignment, assign_canonical, cause_scores
from feedback.analysis.causes.discover import DiscoverParams, discover_in
from feedback.analysis.causes.engines import Engine, Space
from feedback.analysis.causes.features import canonicalize
from feedback.analysis.causes.label import cluster_terms, phrase_labels, representatives
from feedback.analysis.causes.taxonomy import CauseSpec

# Per engine: the neighbours of the discovery graph, the silhouette tolerance of the automatic resolution
# (a share of the best silhouette, or in standard errors of it, when more), whether the graph links
# similarity profiles (discover.second_order) and the confidence an assignment needs.
# Chosen on a 3,000-request part of BANKING77 (the default engine's tolerance also on draws of 10-40 of its
# intents, and the tuning halves of cfpb and clothing; bench/eval_causes.py; docs/benchmarks.md: the rest).
ENGINE_DEFAULTS: dict[str, dict[str, float]] = {
    "default": {"neighbours": 10, "assign_threshold": 0.12, "tolerance": 0.1, "standard_errors": 1,
                "second_order": True},
    "embeddings": {"neighbours": 10, "assign_threshold": 0.35, "tolerance": 0.0, "standard_errors": 0,
                   "second_order": False},
}  # fmt: skip


# (what is being done, steps done, steps in all): a step may advance in fractions (texts encoded so far).
StepProgress = Callable[[str, float, int], None]


def _no_progress(what: str, done: float, total: int) -> None:
    """Progress nobody watches."""


@dataclass(frozen=True)
class CauseParams:
    """The knobs of a run (settings FEEDBACK_CAUSES_*, options of `feedback analyze`); None: automatic or the
    engine's default. DiscoverParams in discover.py says what each discovery knob does."""

    min_size: int = 5  # items a discovered cluster needs to count as repeated
    assign_threshold: float | None = None  # None: the engine's default
    neighbours: int | None = None  # None: the engine's default
    resolution: float | None = None  # None: chosen from the data per run
    resolution_range: tuple[float, float] = DiscoverParams.resolution_range
    tolerance: float | None = None  # None: the engine's default (given: exactly this, no standard errors)
    scan_size: int = DiscoverParams.scan_size
    margin: float = DiscoverParams.margin
    member_similarity: float = DiscoverParams.member_similarity
    second_order: bool | None = None  # None: the engine's default
    seed: int = 0

    def discover_params(self, engine: str) -> DiscoverParams:
        defaults = ENGINE_DEFAULTS.get(engine, ENGINE_DEFAULTS["default"])
        return DiscoverParams(
            min_size=self.min_size,
            neighbours=int(self.neighbours or defaults["neighbours"]),
            resolution=self.resolution,
            resolution_range=self.resolution_range,
            tolerance=defaults["tolerance"] if self.tolerance is None else self.tolerance,
            standard_errors=defaults["standard_errors"] if self.tolerance is None else 0.0,
            scan_size=self.scan_size,
            margin=self.margin,
            member_similarity=self.member_similarity,
            second_order=bool(defaults["second_order"] if self.second_order is None else self.second_order),
            seed=self.seed,
        )

    def threshold(self, engine: str) -> float:
        if self.assign_threshold is not None:
            return self.assign_threshold
        return ENGINE_DEFAULTS.get(engine, ENGINE_DEFAULTS["default"])["assign_threshold"]


@dataclass
class FoundCluster:
    """A repeated cluster: its rows (indices into the input), size, terms, label, verbatims and centroid;
    its cohesion is its rows' mean cosine to the centroid (1: all say the same)."""

    number: int
    rows: NDArray[np.int64]
    terms: dict[str, float]
    label: str
    verbatims: list[str]
    centroid: NDArray[np.float32] = field(repr=False)
    similarity: NDArray[np.float32] = field(repr=False)  # of each row to the centroid (its confidence)

    @property
    def size(self) -> int:
        return len(self.rows)

    @property
    def cohesion(self) -> float:
        return float(self.similarity.mean()) if len(self.similarity) else 0.0


@dataclass
class BatchResult:
    """For each input row: its known cause (index into ``causes``, -1 none), confidence, and cluster (-1)."""

    engine: str
    stable_space: bool
    assignment: Assignment
    cluster_of_row: NDArray[np.int64]
    clusters: list[FoundCluster]
    space: Space = field(repr=False)
    resolution: float | None = None  # discovery's Leiden resolution (chosen from the data unless given)

    @property
    def unexplained(self) -> int:
        """Rows that fit no known cause and no repeated cluster."""
        return int(((self.assignment.cause < 0) & (self.cluster_of_row < 0)).sum())


def run_batch(
    texts: Sequence[str],
    causes: Sequence[CauseSpec],
    engine: Engine,
    params: CauseParams,
    *,
    discover: bool = True,
    progress: StepProgress = _no_progress,
) -> BatchResult:
    """Assign ``texts`` to ``causes``; cluster those that fit none (any row order gives the same result)."""
    steps = 4 if discover else 2
    canonical = canonicalize(texts)
    documents = [doc for cause in causes for doc in cause.documents()]
    progress(f"fitting the text model to {len(canonical.texts):,} distinct texts", 0, steps)
    space = engine.fit([*canonical.texts, *documents])

    def encoding(step: int, what: str) -> None:
        def encoded(done: int, total: int) -> None:
            progress(f"{what}: {done:,} of {total:,} texts encoded", step + done / max(total, 1), steps)

        space.on_encoded = encoded

    encoding(1, "assigning to known causes")
    progress("assigning to known causes", 1, steps)
    assignment = assign_canonical(canonical, space, causes, params.threshold(engine.name))
    cluster_of_row = np.full(len(canonical.index), -1, dtype=np.int64)
    clusters: list[FoundCluster] = []
    resolution: float | None = None
    rest = np.flatnonzero(assignment.cause < 0)
    if discover and len(rest):
        rest_texts = [texts[i] for i in rest.tolist()]
        rest_canonical = canonicalize(rest_texts)
        encoding(2, f"discovering causes in {len(rest_texts):,} unassigned texts")
        progress(f"discovering causes in {len(rest_texts):,} unassigned texts", 2, steps)
        vectors = space.dense(rest_canonical.texts)
        progress(f"clustering {len(rest_canonical.texts):,} texts", 3, steps)
        found = discover_in(rest_canonical, vectors, params.discover_params(engine.name))
        cluster_of_row[rest] = found.labels
        resolution = found.resolution
        described = cluster_terms(
            rest_canonical.texts, found.distinct_labels, rest_canonical.counts, found.n_clusters
        )
        strongest = [[t for t in d.terms if " " not in t][:3] for d in described]
        names = phrase_labels(
            rest_canonical.originals, found.distinct_labels, rest_canonical.counts, found.n_clusters,
            key_terms=strongest,
        )  # fmt: skip
        verbatims = representatives(vectors, found.distinct_labels, found.centroids, rest_canonical.originals)
        row_similarity = np.zeros(len(rest), dtype=np.float32)
        if found.n_clusters:
            row_similarity = np.einsum(
                "ij,ij->i", vectors[rest_canonical.index], found.centroids[np.maximum(found.labels, 0)]
            )
        for number in range(found.n_clusters):
            members = found.labels == number
            clusters.append(
                FoundCluster(
                    number=number,
                    rows=rest[members],
                    terms=described[number].terms,
                    label=names[number] or described[number].label,
                    verbatims=verbatims[number],
                    centroid=found.centroids[number],
                    similarity=np.clip(row_similarity[members], 0, 1).astype(np.float32),
                )
            )
    space.on_encoded = None
    progress("done", steps, steps)
    return BatchResult(
        engine.name, engine.stable_space, assignment, cluster_of_row, clusters, space, resolution
    )


def suggest_owners(
    clusters: Sequence[FoundCluster],
    context: Mapping[str, Sequence[str | None]],
    causes: Sequence[CauseSpec],
    space: Space,
) -> list[str | None]:
    """The department each cluster most points to, from its items' context and its words.

    ``context`` maps "department", "product" and "channel" to one value per input row (department slugs for
    "department"). Half the score is the share of the cluster's items from each department; a quarter is
    what its items' products and channels point to (each value's department mix over all rows, counted
    once for all clusters); a quarter is its words' likeness to each department's known causes. Ties:
    alphabetical.
    """
    departments = context.get("department", [])
    mixes: dict[str, dict[str, dict[str, float]]] = {}  # "product" -> value -> department -> share
    for name in ("product", "channel"):
        values = context.get(name, [])
        if not values or not departments:
            continue
        counts: dict[str, Counter[str]] = {}
        for value, slug in zip(values, departments, strict=True):
            if value and slug:
                counts.setdefault(value, Counter())[slug] += 1
        mixes[name] = {
            value: {slug: n / sum(by.values()) for slug, n in by.items()} for value, by in counts.items()
        }
    return [_suggest_owner(c, context, mixes, causes, space) for c in clusters]


def _suggest_owner(
    cluster: FoundCluster,
    context: Mapping[str, Sequence[str | None]],
    mixes: dict[str, dict[str, dict[str, float]]],
    causes: Sequence[CauseSpec],
    space: Space,
) -> str | None:
    votes: dict[str, float] = {}
    rows = cluster.rows.tolist()
    departments = context.get("department", [])
    if departments:
        own = Counter(departments[i] for i in rows if departments[i])
        for slug, n in own.items():
            votes[slug] = votes.get(slug, 0.0) + 0.5 * n / len(rows)
    for name, mix in mixes.items():
        values = context[name]
        for value, n in Counter(values[i] for i in rows if values[i] in mix).items():
            assert value is not None
            for slug, share in mix[value].items():
                votes[slug] = votes.get(slug, 0.0) + 0.125 * share * n / len(rows)
    owned = [c for c in causes if c.department]
    if owned:
        probe = [" ".join(cluster.verbatims)] if cluster.verbatims else [cluster.label]
        scores = cause_scores(space, probe, owned)[0]
        best: dict[str, float] = {}
        for cause, score in zip(owned, scores.tolist(), strict=True):
            assert cause.department is not None
            best[cause.department] = max(best.get(cause.department, 0.0), max(score, 0.0))
        weight = float(sum(best.values()))
        for slug, score in best.items():
            if weight > 0:
                votes[slug] = votes.get(slug, 0.0) + 0.25 * score / weight
    if not votes:
        return None
    return min(votes.items(), key=lambda kv: (-kv[1], kv[0]))[0]
