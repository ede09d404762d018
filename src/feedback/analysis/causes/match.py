"""Identity across runs: this run's clusters matched to the discovered causes already known.

Similarity of a known cause and a new cluster is the larger of
- their signature similarity: cosine of their c-TF-IDF terms, averaged with the cosine of their centroids when
  both come from the same engine with a fixed vector space (embeddings), and
- their item overlap: shared items / items in either (Jaccard), over items that exist in both runs.

Clusters and causes are paired one-to-one by the Hungarian method (scipy's linear_sum_assignment) on that
similarity, pairs below ``threshold`` refused. A paired cluster keeps the cause's id. What changed:

- ``new``: an unpaired cluster like no known cause;
- ``split``: an unpaired cluster like a cause that is paired with another cluster (a cause became two);
- ``merged``: an unpaired known cause like a cluster paired with another cause (two causes became one);
- ``gone``: a cause seen in the previous run and like no cluster now;
- ``grew`` / ``shrank``: a paired cause whose size changed by at least ``change_ratio``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment

from feedback.analysis.causes.label import term_similarity


@dataclass(frozen=True)
class Signature:
    """What a cause or cluster looks like: terms, centroid (and the engine that made it), items."""

    terms: dict[str, float]
    centroid: NDArray[np.float32] | None = None
    engine: str | None = None
    stable_space: bool = False
    items: frozenset[str] = frozenset()
    size: int = 0


@dataclass(frozen=True)
class Change:
    kind: str  # new, split, merged, gone, grew, shrank
    cause: int | None = None  # a known cause's id (None for a new or split cluster)
    cluster: int | None = None  # a new cluster's index
    related: int | None = None  # the other cause: the one split from, or merged into
    detail: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Matching:
    pairs: dict[int, int]  # cluster index -> known cause id
    changes: list[Change]
    similarity: NDArray[np.float64]  # known x clusters


def similarity(known: Signature, new: Signature) -> float:
    score = term_similarity(known.terms, new.terms)
    if (
        known.centroid is not None
        and new.centroid is not None
        and known.engine == new.engine
        and known.stable_space
        and len(known.centroid) == len(new.centroid)
    ):
        score = (score + float(np.dot(known.centroid, new.centroid))) / 2
    if known.items and new.items:
        score = max(score, len(known.items & new.items) / len(known.items | new.items))
    return score


def _contained(part: frozenset[str], whole: frozenset[str]) -> float:
    return len(part & whole) / len(part) if part else 0.0


def match_clusters(
    known: Sequence[tuple[int, Signature]],
    clusters: Sequence[Signature],
    threshold: float,
    change_ratio: float = 1.25,
) -> Matching:
    """Pair ``clusters`` with ``known`` causes ((id, signature), in id order) and say what changed."""
    sim = np.array([[similarity(k, c) for c in clusters] for _, k in known], dtype=np.float64)
    sim = sim.reshape(len(known), len(clusters))
    pairs: dict[int, int] = {}
    paired_known: dict[int, int] = {}  # known row -> cluster
    if sim.size:
        # Stable: ties go to the lower row/column, which are in id/size order.
        rows, cols = linear_sum_assignment(-np.round(sim, 9))
        for row, col in zip(rows.tolist(), cols.tolist(), strict=True):
            if sim[row, col] >= threshold:
                pairs[col] = known[row][0]
                paired_known[row] = col
    changes: list[Change] = []
    for row, col in sorted(paired_known.items(), key=lambda rc: rc[1]):
        cause_id, old = known[row]
        new = clusters[col]
        if old.size and new.size >= old.size * change_ratio:
            changes.append(Change("grew", cause_id, col, detail={"from": old.size, "to": new.size}))
        elif old.size and new.size * change_ratio <= old.size:
            changes.append(Change("shrank", cause_id, col, detail={"from": old.size, "to": new.size}))
    for col, cluster in enumerate(clusters):
        if col in pairs:
            continue
        parent = _parent(known, paired_known, sim, col, cluster, threshold)
        if parent is None:
            changes.append(Change("new", None, col, detail={"size": cluster.size}))
        else:
            changes.append(Change("split", None, col, related=parent, detail={"size": cluster.size}))
    for row, (cause_id, old) in enumerate(known):
        if row in paired_known or old.size == 0:
            continue
        into = _merged_into(known, paired_known, sim, row, clusters, pairs, threshold)
        if into is None:
            changes.append(Change("gone", cause_id, None, detail={"from": old.size}))
        else:
            changes.append(Change("merged", cause_id, None, related=into, detail={"from": old.size}))
    return Matching(pairs, changes, sim)


def _parent(
    known: Sequence[tuple[int, Signature]],
    paired_known: dict[int, int],
    sim: NDArray[np.float64],
    col: int,
    cluster: Signature,
    threshold: float,
) -> int | None:
    """The paired cause that an unpaired cluster was part of, if any (most similar first)."""
    best: tuple[float, int] | None = None
    for row in paired_known:
        score = max(sim[row, col], _contained(cluster.items, known[row][1].items))
        if score >= threshold and (best is None or score > best[0]):
            best = (score, known[row][0])
    return None if best is None else best[1]


def _merged_into(
    known: Sequence[tuple[int, Signature]],
    paired_known: dict[int, int],
    sim: NDArray[np.float64],
    row: int,
    clusters: Sequence[Signature],
    pairs: dict[int, int],
    threshold: float,
) -> int | None:
    """The cause whose cluster now holds an unpaired cause's items, if any."""
    old = known[row][1]
    best: tuple[float, int] | None = None
    for col in paired_known.values():
        score = max(sim[row, col], _contained(old.items, clusters[col].items))
        if score >= threshold and (best is None or score > best[0]):
            best = (score, pairs[col])
    return None if best is None else best[1]
