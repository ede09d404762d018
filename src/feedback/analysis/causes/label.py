"""Readable labels for clusters: class-based TF-IDF (as BERTopic does) and representative verbatims.

c-TF-IDF treats all texts of a cluster as one document: a term's weight is its frequency in the cluster
times log(1 + A / f), where A is the average number of terms per cluster and f the term's frequency over
all clusters (the unclustered texts count as one more class, so words common everywhere score low).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from sklearn.feature_extraction.text import CountVectorizer

from feedback.analysis.causes.engines import Vectors
from feedback.analysis.causes.features import surface_of_stems, terms

TOP_TERMS = 30  # kept per cluster (for matching across runs)
LABEL_TERMS = 3  # shown in a label
VERBATIMS = 3


@dataclass(frozen=True)
class ClusterTerms:
    terms: dict[str, float]  # stem terms -> c-TF-IDF weight, strongest first
    label: str


def class_tfidf(
    texts: Sequence[str], labels: NDArray[np.int64], weights: NDArray[np.int64], n_classes: int
) -> tuple[sp.csr_matrix, list[str]]:
    """The c-TF-IDF matrix (classes x terms) and its vocabulary; label -1 is the background class."""
    if not texts:
        return sp.csr_matrix((n_classes, 0)), []
    vectorizer = CountVectorizer(analyzer=terms)
    counts = vectorizer.fit_transform(texts)
    rows = np.where(labels >= 0, labels, n_classes)  # background last
    membership = sp.csr_matrix(
        (weights.astype(np.float64), (rows, np.arange(len(texts)))), shape=(n_classes + 1, len(texts))
    )
    per_class = (membership @ counts).tocsr().astype(np.float64)
    term_freq = np.asarray(per_class.sum(axis=0)).ravel()
    words_per_class = np.asarray(per_class.sum(axis=1)).ravel()
    average = float(words_per_class.mean()) if len(words_per_class) else 1.0
    idf = np.log1p(average / np.maximum(term_freq, 1))
    totals = np.where(words_per_class == 0, 1, words_per_class)
    tf = sp.diags(1 / totals) @ per_class
    return (tf @ sp.diags(idf)).tocsr()[:n_classes], list(vectorizer.get_feature_names_out())


def readable(term: str, surface: dict[str, str]) -> str:
    return " ".join(surface.get(part, part) for part in term.split(" "))


def make_label(ranked: list[str], surface: dict[str, str], size: int = LABEL_TERMS) -> str:
    """The first ``size`` distinct ideas of ``ranked``: a word already inside a chosen pair is skipped."""
    chosen: list[str] = []
    covered: set[str] = set()
    for term in ranked:
        parts = set(term.split(" "))
        if parts <= covered:
            continue
        chosen.append(term)
        covered |= parts
        if len(chosen) == size:
            break
    return " / ".join(readable(t, surface) for t in chosen)


def cluster_terms(
    texts: Sequence[str], labels: NDArray[np.int64], weights: NDArray[np.int64], n_classes: int
) -> list[ClusterTerms]:
    """Top terms and a label for each class 0..n_classes-1 (ties between terms: alphabetical)."""
    matrix, vocabulary = class_tfidf(texts, labels, weights, n_classes)
    surface = surface_of_stems(texts)
    out = []
    for row in range(n_classes):
        line = matrix.getrow(row)
        pairs = sorted(
            ((vocabulary[j], float(v)) for j, v in zip(line.indices, line.data, strict=True) if v > 0),
            key=lambda tv: (-tv[1], tv[0]),
        )
        top = pairs[:TOP_TERMS]
        out.append(ClusterTerms({t: round(v, 6) for t, v in top}, make_label([t for t, _ in top], surface)))
    return out


def representatives(
    vectors: Vectors,
    labels: NDArray[np.int64],
    centroids: Vectors,
    texts: Sequence[str],
    count: int = VERBATIMS,
) -> list[list[str]]:
    """For each cluster, the ``count`` distinct texts closest to its centroid (ties: canonical order)."""
    out: list[list[str]] = []
    for cluster in range(centroids.shape[0]):
        members = np.flatnonzero(labels == cluster)
        if len(members) == 0:
            out.append([])
            continue
        sims = vectors[members] @ centroids[cluster]
        order = np.lexsort((members, -sims))[:count]
        out.append([texts[i] for i in members[order]])
    return out


def term_similarity(a: dict[str, float], b: dict[str, float]) -> float:
    """Cosine between two term-weight dictionaries (0 when either is empty)."""
    if not a or not b:
        return 0.0
    dot = sum(w * b[t] for t, w in a.items() if t in b)
    norm = float(np.sqrt(sum(w * w for w in a.values())) * np.sqrt(sum(w * w for w in b.values())))
    return dot / norm if norm else 0.0
