"""Discovery: negative feedback that fits no known cause, grouped into repeated clusters.

How, in order (every step deterministic; input rows are first reduced to their sorted distinct texts, so the
order of the rows never matters):

1. vectors for the distinct texts (an engine from engines.py);
2. when there are more than ``sample_size`` distinct texts, a fixed stride sample of them is clustered and
   every other text joins its nearest cluster if it is as close to it as the cluster's own members are
   (O(n), so a million rows stay cheap); the texts that join none are clustered once more the same way;
3. clustering = a k-nearest-neighbour graph (cosine) split into communities by Leiden modularity (igraph,
   fixed seed). The number of clusters is not given, and the granularity is chosen from the data: a fixed
   stride sample of at most ``scan_size`` texts gets a k-NN graph of its own, Leiden splits it at each
   resolution of a geometric grid, and the resolution whose partition has the best silhouette (cosine; the
   coarsest within a share ``tolerance`` of the best) is used on the whole graph (``choose_resolution``).
   Judging partitions of the same number of texts whatever the input's size keeps the choice from drifting
   finer on large inputs, where ever smaller groups of near-identical wordings stay above the repeat
   threshold.
   A fixed ``resolution`` skips the scan. With ``second_order`` (the default engine's TF-IDF vectors) the
   graph links texts by their similarity profiles (``second_order``: alike when they resemble the same
   texts, so two wordings of one request that share few words still meet), the silhouette still judges
   the plain cosine, and steps 4-5 compare profiles;
4. fragments smaller than ``min_size`` join their most similar community if close enough (rescue_fragments);
5. clean clusters: a text that is not closer to the rest of its own cluster than to another cluster's
   centroid by ``margin`` moves to that cluster when it is as close to it as that cluster's members are,
   else it is left out; so is a text less similar than ``member_similarity`` to the rest of its cluster in
   its own vectors (drop_outliers): it fits no repeated cause well, and the result says so;
6. a cluster counts as a repeated cause when it has at least ``min_size`` items (rows, not distinct texts);
   the items of smaller clusters are left unclustered (label -1).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

import igraph as ig
import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from feedback.analysis.causes.engines import Space, Vectors
from feedback.analysis.causes.features import Canonical, canonicalize

Labels = NDArray[np.int64]


@dataclass(frozen=True)
class DiscoverParams:
    min_size: int = 5  # items a cluster needs to count as repeated
    neighbours: int = 10  # k of the k-nearest-neighbour graph
    resolution: float | None = None  # Leiden resolution (higher: more, smaller clusters); None: from the data
    resolution_range: tuple[float, float] = (0.5, 64.0)  # the grid scanned when the resolution is automatic
    resolution_steps: int = 15  # grid points (geometric)
    tolerance: float = 0.0  # the coarsest resolution whose silhouette is within this share of the best wins
    standard_errors: float = 0.0  # ... or this many standard errors of the best silhouette, if more
    scan_size: int = 2_000  # texts (a fixed stride sample) on which each resolution is tried and judged
    smoothing: int = 0  # move each vector towards its k nearest neighbours first (0: off)
    second_order: bool = False  # link texts by their similarity profiles (second_order), not their vectors
    sample_size: int = 12_000  # distinct texts clustered directly; the rest join the nearest cluster
    join_quantile: float = 0.1  # a text joins a cluster when as close as this quantile of its members
    rescue_similarity: float = 0.5  # a small fragment joins its most similar community at this cosine
    member_similarity: float = 0.2  # a text less similar than this to the rest of its cluster is left out
    margin: float = -0.05  # a member must be this much closer to its cluster than to any other (cosine)
    seed: int = 0


@dataclass
class Discovery:
    """Clusters of the input rows: ``labels[i]`` is row i's cluster (-1: none), numbered by size."""

    labels: Labels
    centroids: Vectors  # one unit vector per cluster
    canonical: Canonical
    vectors: Vectors = field(repr=False)  # of the distinct texts
    distinct_labels: Labels = field(repr=False)  # cluster of each distinct text
    resolution: float = 0.0  # the Leiden resolution used (chosen from the data unless given)

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


def second_order(vectors: Vectors) -> Vectors:
    """Each text's similarity profile: row i of V Vt (its cosine to every text), as a unit vector of rank d.

    Two texts compared this way are alike when they resemble the same texts, not merely each other: with
    V = U S Wt, the rows of V Vt = U S^2 Ut have the same cosines as the rows of V W S = U S^2, and W and
    S^2 are the eigenvectors and eigenvalues of the d x d matrix Vt V, so the profile costs O(n d^2). The
    squared singular values weigh the directions shared by many texts (themes) over those of a few (wording).
    """
    if vectors.shape[0] < 2:
        return vectors
    eigenvalues, basis = np.linalg.eigh((vectors.T @ vectors).astype(np.float64))
    profile = (vectors @ basis.astype(np.float32)) * np.sqrt(np.clip(eigenvalues, 0, None)).astype(np.float32)
    norms = np.linalg.norm(profile, axis=1, keepdims=True)
    out: Vectors = (profile / np.where(norms == 0, 1, norms)).astype(np.float32)
    return out


def knn_graph(vectors: Vectors, k: int) -> sp.csr_matrix:
    """Symmetric graph of each vector's k most similar others, weighted by cosine (> 0)."""
    n = vectors.shape[0]
    nearest, sims = nearest_neighbours(vectors, k)
    rows = np.repeat(np.arange(n), nearest.shape[1])
    graph = sp.csr_matrix((np.maximum(sims.ravel(), 1e-6), (rows, nearest.ravel())), shape=(n, n))
    symmetric: sp.csr_matrix = graph.maximum(graph.T).tocsr()
    return symmetric


def neighbours_for(params: DiscoverParams, n: int) -> int:
    """k of the graph: with few texts, ten neighbours would link everything; capped at sqrt(n), at least 5."""
    return min(params.neighbours, max(5, int(np.rint(np.sqrt(n)))))


def _igraph(graph: sp.csr_matrix) -> ig.Graph:
    upper = sp.triu(graph, k=1).tocoo()
    return ig.Graph(
        n=graph.shape[0],
        edges=np.column_stack([upper.row, upper.col]).tolist(),
        edge_attrs={"weight": upper.data.tolist()},
    )


def leiden(graph: ig.Graph, resolution: float, seed: int) -> Labels:
    """Leiden modularity communities numbered by their smallest member (same graph and seed: same result)."""
    ig.set_random_number_generator(random.Random(seed))
    try:
        found = graph.community_leiden(
            objective_function="modularity", weights="weight", resolution=resolution, n_iterations=-1
        ).membership
    finally:
        ig.set_random_number_generator(random)
    raw = np.asarray(found, dtype=np.int64)
    first = np.full(int(raw.max()) + 1, len(raw), dtype=np.int64)
    np.minimum.at(first, raw, np.arange(len(raw)))
    renumber = np.empty_like(first)
    renumber[np.argsort(first, kind="stable")] = np.arange(len(first))
    labels: Labels = renumber[raw]
    return labels


def silhouette(
    similarity: NDArray[np.float32], sample: Labels, labels: Labels, min_size: int
) -> NDArray[np.float64]:
    """Cosine silhouette of each ``sample`` text (``similarity``: sample x all texts) under ``labels``.

    s = (b - a) / max(a, b), with a the mean distance to the rest of the text's own cluster and b the mean
    distance to the nearest other cluster; a text alone in its cluster scores 0 (the usual convention), and
    so does a text of a cluster smaller than ``min_size`` (it will be left out: a partition into fragments
    earns nothing).
    """
    count = int(labels.max()) + 1
    if count < 2:
        return np.zeros(len(sample))
    membership = sp.csr_matrix(
        (np.ones(len(labels), dtype=np.float32), (np.arange(len(labels)), labels)), shape=(len(labels), count)
    )
    sums = np.asarray((membership.T @ similarity.T).T)  # sample x clusters
    sizes = np.bincount(labels, minlength=count).astype(np.float64)
    own = labels[sample]
    rows = np.arange(len(sample))
    own_size = sizes[own] - 1
    alone = own_size == 0
    a = 1 - (sums[rows, own] - 1) / np.where(alone, 1, own_size)
    means = sums / sizes
    means[rows, own] = -np.inf
    b = 1 - means.max(axis=1)
    s: NDArray[np.float64] = np.where(
        alone | (own_size + 1 < min_size), 0.0, (b - a) / np.maximum(np.maximum(a, b), 1e-9)
    )
    return s


def resolution_grid(params: DiscoverParams) -> list[float]:
    low, high = params.resolution_range
    return [float(r) for r in np.geomspace(low, high, max(1, params.resolution_steps))]


def choose_resolution(
    vectors: Vectors, linked: Vectors, graph: ig.Graph, params: DiscoverParams
) -> tuple[float, Labels]:
    """The granularity this data supports, and the whole graph's partition at it.

    Every resolution of the grid splits the k-NN graph of a fixed stride sample of at most ``scan_size``
    texts; the best silhouette of those partitions wins (the coarsest within the share ``tolerance`` of the
    best, or within ``standard_errors`` standard errors of the best's mean silhouette if that is more: fewer,
    larger clusters are the simpler answer when several score about the same, and on a few dozen texts a
    mean silhouette moves by chance more than any fixed tolerance). A share, not a fixed amount: word-count
    vectors score ever finer splits of one problem by its wordings a little higher, and how much higher
    grows with the silhouettes themselves (0.02-0.05 on long complaints, 0.1-0.25 on short requests).
    """
    n = vectors.shape[0]
    sample = np.arange(0, n, -(-n // max(params.scan_size, 2)), dtype=np.int64)
    whole = len(sample) == n
    scan_graph = graph if whole else _igraph(knn_graph(linked[sample], neighbours_for(params, len(sample))))
    similarity = (vectors[sample] @ vectors[sample].T).astype(np.float32)
    everyone = np.arange(len(sample), dtype=np.int64)
    scored = []
    for resolution in resolution_grid(params):
        labels = leiden(scan_graph, resolution, params.seed)
        per_text = silhouette(similarity, everyone, labels, params.min_size)
        scored.append((float(per_text.mean()), standard_error(per_text), resolution, labels))
    best, error, _, _ = max(scored, key=lambda s: s[0])
    tolerance = max(params.tolerance * best, params.standard_errors * error)
    # The grid ascends: the first good enough is the coarsest.
    resolution, labels = next((r, labels) for score, _, r, labels in scored if score >= best - tolerance)
    return resolution, labels if whole else leiden(graph, resolution, params.seed)


def standard_error(values: NDArray[np.float64]) -> float:
    """The standard error of the mean of ``values``: how far a mean silhouette may move by chance."""
    return float(values.std() / np.sqrt(len(values))) if len(values) > 1 else 0.0


def communities(vectors: Vectors, linked: Vectors, params: DiscoverParams) -> tuple[Labels, float]:
    """Leiden communities of the k-NN graph of ``linked`` (the vectors, or their similarity profiles), and
    the resolution used (given, or chosen from the data by the silhouette of ``vectors``)."""
    n = vectors.shape[0]
    if n <= 2:
        return np.zeros(n, dtype=np.int64), params.resolution or 1.0
    graph = _igraph(knn_graph(linked, neighbours_for(params, n)))
    if params.resolution is not None:
        return leiden(graph, params.resolution, params.seed), params.resolution
    resolution, labels = choose_resolution(vectors, linked, graph, params)
    return labels, resolution


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


def _fit(
    vectors: Vectors, labels: Labels, weights: NDArray[np.int64], count: int
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
    """Per-cluster sums of ``vectors``, each text's cosine to the rest of its cluster (its centroid without
    the text itself), and whether the text is the only distinct text of its cluster (then 1)."""
    sums = np.zeros((count, vectors.shape[1]), dtype=np.float64)
    np.add.at(sums, labels, vectors * weights[:, None])
    others = sums[labels] - vectors * weights[:, None]
    norms = np.linalg.norm(others, axis=1)
    alone = norms < 1e-6
    similarity = np.where(alone, 1.0, np.einsum("ij,ij->i", vectors, others) / np.where(alone, 1, norms))
    return sums, similarity, alone


def drop_outliers(
    vectors: Vectors,
    labels: Labels,
    weights: NDArray[np.int64],
    params: DiscoverParams,
    plain: Vectors | None = None,
) -> Labels:
    """Texts that fit their cluster badly become clusters of their own (below the repeat threshold).

    Every text of a graph lands in some community, even one that resembles nothing else or sits between
    two; it should not be counted as that community's cause. A text is compared with its cluster's centroid
    without itself, so a short text repeated many times ("useless" x 6) cannot pull the centroid towards
    itself and stay in. A text closer to another repeated cluster than to its own (by more than ``margin``)
    is misplaced: it moves to that cluster when it is as close to its centroid as the cluster's own members
    are (``join_floors``), else it is left out. Then a text less similar than ``member_similarity`` to the
    rest of its cluster in ``plain`` (the texts' own vectors when ``vectors`` are similarity profiles, which
    make any text of a small input look like a member of some theme) is left out too.
    """
    count = int(labels.max()) + 1
    sums, similarity, alone = _fit(vectors, labels, weights, count)
    unfit = np.zeros(len(labels), dtype=bool)
    sizes = np.bincount(labels, weights=weights, minlength=count)
    repeated = np.flatnonzero(sizes >= params.min_size)
    if len(repeated) > 1:
        centroid_norms = np.linalg.norm(sums[repeated], axis=1, keepdims=True)
        centroids = (sums[repeated] / np.where(centroid_norms == 0, 1, centroid_norms)).astype(np.float32)
        rival = np.full(len(labels), -np.inf)
        rival_of = np.zeros(len(labels), dtype=np.int64)
        for start in range(0, len(labels), 8192):
            part = vectors[start : start + 8192] @ centroids.T
            part[repeated[None, :] == labels[start : start + 8192, None]] = -np.inf
            rival[start : start + 8192] = part.max(axis=1)
            rival_of[start : start + 8192] = part.argmax(axis=1)
        misplaced = ~alone & (similarity < rival + params.margin)
        # The floor of a cluster: as close as its own fitting members are (their ``join_quantile``).
        fitting = np.isin(labels, repeated) & ~misplaced & (similarity >= params.member_similarity)
        floors = np.ones(count, dtype=np.float32)
        floors[repeated] = join_floors(
            vectors[fitting], np.searchsorted(repeated, labels[fitting]), centroids, params.join_quantile
        )
        target = repeated[rival_of]
        moves = misplaced & (rival >= floors[target])
        labels = np.where(moves, target, labels)
        unfit = misplaced & ~moves
    _, own, _ = _fit(vectors if plain is None else plain, labels, weights, count)
    unfit |= own < params.member_similarity
    outliers = np.flatnonzero(unfit)
    labels = labels.copy()
    labels[outliers] = count + np.arange(len(outliers))
    return labels


def join_floors(vectors: Vectors, labels: Labels, centroids: Vectors, quantile: float) -> NDArray[np.float32]:
    """Per cluster, the cosine to its centroid that a text needs to join it: as close as its own members are
    (the ``quantile`` of their cosines; a cluster of one text: 1, nothing else joins a lone text)."""
    own = np.einsum("ij,ij->i", vectors, centroids[labels])
    floors = np.ones(centroids.shape[0], dtype=np.float32)
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(centroids.shape[0] + 1))
    for cluster in range(centroids.shape[0]):
        members = own[order[bounds[cluster] : bounds[cluster + 1]]]
        if len(members) > 1:
            floors[cluster] = np.quantile(members, quantile)
    return floors


def _cluster_distinct(vectors: Vectors, linked: Vectors, params: DiscoverParams) -> tuple[Labels, float]:
    """Cluster labels (>= 0) for every distinct text, sampling when there are many; the first resolution."""
    n = vectors.shape[0]
    if n <= params.sample_size:
        return communities(vectors, linked, params)
    resolutions: list[float] = []
    labels = np.full(n, -1, dtype=np.int64)
    todo = np.arange(n)
    next_label = 0
    for _ in range(2):  # a first sample, then one more pass over the texts that joined nothing
        if len(todo) == 0:
            break
        stride = -(-len(todo) // params.sample_size)
        sample = todo[::stride]
        sample_labels, resolution = communities(vectors[sample], linked[sample], params)
        resolutions.append(resolution)
        labels[sample] = sample_labels + next_label
        count = int(sample_labels.max()) + 1
        centroids = centroids_of(linked[sample], sample_labels, np.ones(len(sample), np.int64), count)
        rest = np.setdiff1d(todo, sample)
        if len(rest):
            floors = join_floors(linked[sample], sample_labels, centroids, params.join_quantile)
            sims = linked[rest] @ centroids.T
            best = np.argmax(sims, axis=1)
            near = sims[np.arange(len(rest)), best] >= floors[best]
            labels[rest[near]] = best[near] + next_label
            todo = rest[~near]
        else:
            todo = rest
        next_label += count
    if len(todo):  # still alone after two passes: each its own (too small) cluster
        labels[todo] = np.arange(next_label, next_label + len(todo))
    return labels, resolutions[0]


def discover_in(canonical: Canonical, vectors: Vectors, params: DiscoverParams) -> Discovery:
    """Repeated clusters of ``canonical``'s rows, given the vectors of its distinct texts."""
    raw = np.zeros(0, dtype=np.int64)
    resolution = params.resolution or 0.0
    if len(canonical.texts):
        smoothed = smooth(vectors, params.smoothing)
        linked = second_order(smoothed) if params.second_order else smoothed
        grouped, resolution = _cluster_distinct(smoothed, linked, params)
        raw = rescue_fragments(linked, grouped, canonical.counts, params)
        raw = drop_outliers(linked, raw, canonical.counts, params, plain=smoothed)
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
        resolution=resolution,
    )


def discover_texts(texts: Sequence[str], space: Space, params: DiscoverParams | None = None) -> Discovery:
    """Cluster ``texts`` (any order; the result is the same for every order of the same rows)."""
    canonical = canonicalize(texts)
    return discover_in(canonical, space.dense(canonical.texts), params or DiscoverParams())
