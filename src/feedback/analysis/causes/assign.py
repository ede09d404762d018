"""Assignment of negative feedback to the causes a company already knows (its taxonomy).

Each cause is described by its documents (name and description, each keyword, each example). An item's
score for a cause is the mean of its cosine to the cause's average document and to its closest document. The
item is routed to the department whose causes score best on average, then to that department's best cause;
it is assigned when that score (its confidence, 0..1) reaches ``min_confidence``.
Items are reduced to their distinct texts first, so the result does not depend on the order of the rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from feedback.analysis.causes.engines import Space, Vectors
from feedback.analysis.causes.features import Canonical, canonicalize
from feedback.analysis.causes.taxonomy import CauseSpec


@dataclass(frozen=True)
class Assignment:
    """Per input row: the index of its cause in the taxonomy (-1: none fits well enough) and a confidence."""

    cause: NDArray[np.int64]
    confidence: NDArray[np.float32]
    best: NDArray[np.int64]  # the best cause even below the threshold (for routing and benchmarks)


def _dense(matrix: Vectors | sp.spmatrix) -> NDArray[np.float32]:
    if sp.issparse(matrix):
        return np.asarray(matrix.toarray(), dtype=np.float32)  # type: ignore[union-attr]
    return np.asarray(matrix, dtype=np.float32)


def cause_scores(space: Space, texts: Sequence[str], causes: Sequence[CauseSpec]) -> NDArray[np.float32]:
    """Scores (rows: texts, columns: causes): mean of the cosines to the average and to the closest doc."""
    docs: list[str] = []
    owner: list[int] = []
    for number, cause in enumerate(causes):
        for doc in cause.documents():
            docs.append(doc)
            owner.append(number)
    items = space.sparse_or_dense(list(texts))
    doc_vectors = space.sparse_or_dense(docs)
    owners = np.asarray(owner)
    membership = sp.csr_matrix(
        (np.ones(len(docs), dtype=np.float32), (owners, np.arange(len(docs)))), shape=(len(causes), len(docs))
    )
    means = _dense(membership @ doc_vectors)
    norms = np.linalg.norm(means, axis=1, keepdims=True)
    means /= np.where(norms == 0, 1, norms)
    score = np.zeros((len(texts), len(causes)), dtype=np.float32)
    block = 4096
    for start in range(0, len(texts), block):
        part = items[start : start + block]
        to_mean = _dense(part @ means.T)
        to_docs = _dense(part @ doc_vectors.T)
        closest = np.full((to_docs.shape[0], len(causes)), -1.0, dtype=np.float32)
        for number in range(len(causes)):
            closest[:, number] = to_docs[:, owners == number].max(axis=1)
        score[start : start + block] = (to_mean + closest) / 2
    return score


def route_then_pick(score: NDArray[np.float32], departments: Sequence[str | None]) -> NDArray[np.int64]:
    """The best cause of each row, within the department whose causes fit the row best on average.

    Routing first keeps one cause with a lucky keyword from pulling feedback away from the department
    that owns the problem (on CFPB complaints this beat picking the best cause over all departments for
    both the department and the issue; docs/benchmarks.md). Ties: the department, then cause, listed first.
    """
    groups: dict[str | None, list[int]] = {}
    for number, department in enumerate(departments):
        groups.setdefault(department, []).append(number)
    if len(groups) <= 1:
        only: NDArray[np.int64] = np.argmax(score, axis=1).astype(np.int64)
        return only
    members = [np.asarray(m, dtype=np.int64) for m in groups.values()]
    means = np.stack([score[:, m].mean(axis=1) for m in members], axis=1)
    chosen = np.argmax(means, axis=1)
    best = np.empty(score.shape[0], dtype=np.int64)
    for group, m in enumerate(members):
        rows = np.flatnonzero(chosen == group)
        if len(rows):
            best[rows] = m[np.argmax(score[np.ix_(rows, m)], axis=1)]
    return best


def assign_canonical(
    canonical: Canonical, space: Space, causes: Sequence[CauseSpec], min_confidence: float
) -> Assignment:
    rows = len(canonical.index)
    if not causes or rows == 0:
        none = np.full(rows, -1, dtype=np.int64)
        return Assignment(none, np.zeros(rows, dtype=np.float32), none)
    score = cause_scores(space, canonical.texts, causes)
    best = route_then_pick(score, [c.department for c in causes])
    confidence = np.clip(score[np.arange(len(best)), best], 0, 1).astype(np.float32)
    cause = np.where(confidence >= min_confidence, best, -1)
    return Assignment(cause[canonical.index], confidence[canonical.index], best[canonical.index])


def assign(
    texts: Sequence[str], space: Space, causes: Sequence[CauseSpec], min_confidence: float
) -> Assignment:
    """The best known cause of each text, if it fits well enough (any order of ``texts``: same answer)."""
    return assign_canonical(canonicalize(texts), space, causes, min_confidence)
