"""Discovery: negative feedback that fits no known cause, grouped into repeated clusters.

How, in order (every step deterministic; input rows are first reduced to their sorted distinct texts, so the
order of the rows never matters):

1. vectors for the distinct texts (an engine from engines.py);
2. when there are more than ``sample_size`` distinct texts, a fixed stride sample of them is clustered and
   every other text joins its nearest cluster if it is similar enough (O(n), so a million rows stay cheap);
   the texts that join none are clustered once more the same way;
3. clustering = a k-nearest-neighbour graph (cosine) split into communities by Louvain modularity
   (networkx, fixed seed). The number of clusters is not given: ``resolution`` (documented, default per
   engine) sets how fine the communities are (scaled down for small inputs, see ``scaled``);
4. fragments smaller than ``min_size`` join their most similar community if close enough (rescue_fragments);
5. texts less similar than ``member_similarity`` to the rest of their cluster are left out (drop_outliers);
6. a cluster counts as a repeated cause when it has at least ``min_size`` items (rows, not distinct texts);
   the items of smaller clusters are left unclustered (label -1).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import networkx as nx
import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from feedback.analysis.causes.engines import Space, Vectors
from feedback.analysis.causes.features import Canonical, canonicalize

Labels = NDArray[np.int64]
REFERENCE_SIZE = 10_000  # distinct texts at which the configured resolution applies in full


@dataclass(frozen=True)
class DiscoverParams:
    min_size: int = 5  # items a cluster needs to count as repeated
    neighbours: int = 10  # k of the k-nearest-neighbour graph
    resolution: float = 4.0  # Louvain resolution: higher gives more, smaller clusters
    smoothing: int = 0  # move each vector towards its k nearest neighbours first (0: off)
    sample_size: int = 12_000  # distinct texts clustered directly; the rest join the nearest cluster
    join_similarity: float = 0.35  # cosine to a cluster's centroid needed to join it
    rescue_similarity: float = 0.5  # a small fragment joins its most similar community at this cosine
    member_similarity: float = 0.2  # a text less similar than this to the rest of its cluster is left out
    seed: int = 0


@dataclass
class Discovery:
    """Clusters of the input rows: ``labels[i]`` is row i's cluster (-1: none), numbered by size."""

    labels: Labels
    centroids: Vectors  # one unit vector per cluster
    canonical: Canonical
    vectors: Vectors = field(repr=False)  # of the distinct texts
    distinct_labels: Labels = field(repr=False)  # cluster of each distinct text

    @property
    def n_clusters(self) -> int:
        return int(self.centroids.shape[0])


def nearest_neighbours(vectors: Vectors, k: int, block: int = 2048) -> tuple[Labels, Vectors]:
    """Each vector's k most similar others (indices, cosines), most similar first."""
    n = vectors.shape[0]
    k = min(k, n - 1)
    indices = np.empty((n, k), dtype=np.int64)
    sims_out = np.empty((n, k), dtype=np.float32)
    for start in range(0, n, block):
        sims = vectors[start : start + block] @ vectors.T
        local = np.arange(sims.shape[0])
        sims[local, start + local] = -np.inf  # not its own neighbour
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k] if k < n - 1 else np.argsort(-sims, axis=1)[:, :k]
        top_sims = sims[local[:, None], top]
        order = np.lexsort((top, -top_sims), axis=1)  # by similarity, ties by index
        indices[start : start + len(local)] = np.take_along_axis(top, order, axis=1)
        sims_out[start : start + len(local)] = np.take_along_axis(top_sims, order, axis=1)
    return indices, sims_out


def smooth(vectors: Vectors, k: int) -> Vectors:
    """Each vector moved halfway to the mean of its k nearest neighbours: denser, cleaner clusters."""
    if k <= 0 or vectors.shape[0] <= k:
        return vectors
    nearest, _ = nearest_neighbours(vectors, k)
    moved = vectors + vectors[nearest].mean(axis=1)
    norms = np.linalg.norm(moved, axis=1, keepdims=True)
    smoothed: Vectors = (moved / np.where(norms == 0, 1, norms)).astype(np.float32)
    return smoothed


def knn_graph(vectors: Vectors, k: int) -> sp.csr_matrix:
    """Symmetric graph of each vector's k most similar others, weighted by cosine (> 0)."""
    n = vectors.shape[0]
    nearest, sims = nearest_neighbours(vectors, k)
    rows = np.repeat(np.arange(n), nearest.shape[1])
    graph = sp.csr_matrix((np.maximum(sims.ravel(), 1e-6), (rows, nearest.ravel())), shape=(n, n))
    symmetric: sp.csr_matrix = graph.maximum(graph.T).tocsr()
    return symmetric


def scaled(params: DiscoverParams, n: int) -> tuple[int, float]:
    """Neighbours and resolution for a graph of n texts: both shrink for small inputs.

    With ten neighbours, a few dozen texts would all be linked to each other; and a resolution tuned for
    thousands of texts cuts a small graph into single texts. Neighbours are capped at sqrt(n) (at least 5),
    and the resolution goes linearly from 1 at no texts to ``resolution`` at ``REFERENCE_SIZE`` texts.
    """
    neighbours = min(params.neighbours, max(5, round(np.sqrt(n))))
    resolution = 1 + (params.resolution - 1) * min(1.0, n / REFERENCE_SIZE)
    return neighbours, resolution


def communities(vectors: Vectors, params: DiscoverParams) -> Labels:
    """Louvain communities of the k-NN graph, numbered by their smallest member."""
    n = vectors.shape[0]
    if n <= 2:
        return np.zeros(n, dtype=np.int64)
    vectors = smooth(vectors, params.smoothing)
    neighbours, resolution = scaled(params, n)
    graph = nx.from_scipy_sparse_array(knn_graph(vectors, neighbours))
    found = nx.community.louvain_communities(graph, weight="weight", resolution=resolution, seed=params.seed)
    labels = np.empty(n, dtype=np.int64)
    for number, members in enumerate(sorted(found, key=min)):
        labels[sorted(members)] = number
    return labels


def centroids_of(vectors: Vectors, labels: Labels, weights: NDArray[np.int64], n: int) -> Vectors:
    out = np.zeros((n, vectors.shape[1]), dtype=np.float32)
    keep = labels >= 0
    np.add.at(out, labels[keep], vectors[keep] * weights[keep, None])
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    centroids: Vectors = (out / np.where(norms == 0, 1, norms)).astype(np.float32)
    return centroids


def rescue_fragments(
    vectors: Vectors, labels: Labels, weights: NDArray[np.int64], params: DiscoverParams
) -> Labels:
    """Fold communities smaller than ``min_size`` into their most similar community, when similar enough.

    Modularity never keeps a tight, uniform group whole (one community scores 0, any split more), so a small
    cause can come out as fragments; this puts them back together. Smallest fragments first, ties by number.
    """
    labels = labels.copy()
    count = int(labels.max()) + 1 if len(labels) else 0
    sums = np.zeros((count, vectors.shape[1]), dtype=np.float64)
    np.add.at(sums, labels, vectors * weights[:, None])
    sizes = np.bincount(labels, weights=weights, minlength=count)
    alive = sizes > 0
    while True:
        small = np.flatnonzero(alive & (sizes < params.min_size))
        if len(small) == 0 or alive.sum() < 2:
            return labels
        small = small[np.lexsort((small, sizes[small]))]
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        centroids = sums / np.where(norms == 0, 1, norms)
        similar = centroids[small] @ centroids.T
        merged = np.arange(count)
        changed = False
        for row, c in enumerate(small.tolist()):
            sims = np.where(alive, similar[row], -np.inf)
            sims[c] = -np.inf
            other = int(np.argmax(sims))
            if sims[other] >= params.rescue_similarity:
                merged[c] = other
                sums[other] += sums[c]
                sizes[other] += sizes[c]
                sums[c], sizes[c], alive[c] = 0, 0, False
                changed = True
        if not changed:
            return labels
        while not np.array_equal(merged[merged], merged):  # follow chains a -> b -> c
            merged = merged[merged]
        labels = merged[labels]


def drop_outliers(vectors: Vectors, labels: Labels, weights: NDArray[np.int64], floor: float) -> Labels:
    """Texts too unlike the rest of their cluster become clusters of their own (below the repeat threshold).

    Every text of a graph lands in some community, even one that resembles nothing else; it should not be
    counted as that community's cause. A text is compared with its cluster's centroid without itself, so a
    short text repeated many times ("useless" x 6) cannot pull the centroid towards itself and stay in.
    """
    count = int(labels.max()) + 1
    sums = np.zeros((count, vectors.shape[1]), dtype=np.float64)
    np.add.at(sums, labels, vectors * weights[:, None])
    others = sums[labels] - vectors * weights[:, None]
    norms = np.linalg.norm(others, axis=1)
    alone = norms < 1e-6  # the only distinct text of its cluster: nothing else to compare with
    similarity = np.where(alone, 1.0, np.einsum("ij,ij->i", vectors, others) / np.where(alone, 1, norms))
    outliers = np.flatnonzero(similarity < floor)
    labels = labels.copy()
    labels[outliers] = count + np.arange(len(outliers))
    return labels


def _cluster_distinct(vectors: Vectors, params: DiscoverParams) -> Labels:
    """Cluster labels (>= 0) for every distinct text, sampling when there are many."""
    n = vectors.shape[0]
    if n <= params.sample_size:
        return communities(vectors, params)
    labels = np.full(n, -1, dtype=np.int64)
    todo = np.arange(n)
    next_label = 0
    for _ in range(2):  # a first sample, then one more pass over the texts that joined nothing
        if len(todo) == 0:
            break
        stride = -(-len(todo) // params.sample_size)
        sample = todo[::stride]
        sample_labels = communities(vectors[sample], params)
        labels[sample] = sample_labels + next_label
        count = int(sample_labels.max()) + 1
        centroids = centroids_of(vectors[sample], sample_labels, np.ones(len(sample), np.int64), count)
        rest = np.setdiff1d(todo, sample)
        if len(rest):
            sims = vectors[rest] @ centroids.T
            best = np.argmax(sims, axis=1)
            near = sims[np.arange(len(rest)), best] >= params.join_similarity
            labels[rest[near]] = best[near] + next_label
            todo = rest[~near]
        else:
            todo = rest
        next_label += count
    if len(todo):  # still alone after two passes: each its own (too small) cluster
        labels[todo] = np.arange(next_label, next_label + len(todo))
    return labels


def discover_in(canonical: Canonical, vectors: Vectors, params: DiscoverParams) -> Discovery:
    """Repeated clusters of ``canonical``'s rows, given the vectors of its distinct texts."""
    raw = np.zeros(0, dtype=np.int64)
    if len(canonical.texts):
        raw = rescue_fragments(vectors, _cluster_distinct(vectors, params), canonical.counts, params)
        raw = drop_outliers(vectors, raw, canonical.counts, params.member_similarity)
    n_raw = int(raw.max()) + 1 if len(raw) else 0
    sizes = np.bincount(raw, weights=canonical.counts, minlength=n_raw) if n_raw else np.zeros(0)
    # Repeated clusters, biggest first; ties by their first distinct text (canonical order).
    first = np.full(n_raw, len(raw), dtype=np.int64)
    np.minimum.at(first, raw, np.arange(len(raw)))
    kept = [c for c in range(n_raw) if sizes[c] >= params.min_size]
    kept.sort(key=lambda c: (-sizes[c], first[c]))
    renumber = np.full(max(n_raw, 1), -1, dtype=np.int64)
    renumber[kept] = np.arange(len(kept))
    distinct_labels = renumber[raw] if len(raw) else raw
    centroids = centroids_of(vectors, distinct_labels, canonical.counts, len(kept))
    return Discovery(
        labels=distinct_labels[canonical.index] if len(raw) else np.zeros(0, dtype=np.int64),
        centroids=centroids,
        canonical=canonical,
        vectors=vectors,
        distinct_labels=distinct_labels,
    )


def discover_texts(texts: Sequence[str], space: Space, params: DiscoverParams | None = None) -> Discovery:
    """Cluster ``texts`` (any order; the result is the same for every order of the same rows)."""
    canonical = canonicalize(texts)
    return discover_in(canonical, space.dense(canonical.texts), params or DiscoverParams())
