"""A text model of dissatisfaction, learned from the customers' own scores.

A survey comment comes with the same customer's score: a far better label than a word lexicon. The label is
"dissatisfied" as the survey vocabulary defines it (analysis/scales.py, from the settings: by default NPS 0-6,
CSAT 1-2, CES 1-3; a CSAT of 3 is neutral, not unhappy). The model: TF-IDF of word 1-2 grams
and character 2-5 grams (within words), plus TextBlob's polarity as one more feature, into a logistic
regression with balanced class weights (dissatisfied answers are the minority, and the ones that matter).

With too few scored texts (fewer than a configurable minimum, or only one class) the model is TextBlob
polarity alone: dissatisfied = polarity below the vocabulary's negative cut-off (-0.05), probability =
(1 - polarity) / 2 (a rescaling, not a calibrated probability).

Model files are written with joblib (pickle). Loading a pickle runs code: a model file is trusted input,
like the program itself; never load one from someone you do not trust. The file holds a dict:
``{"format": "feedback-dissatisfaction-model", "version": 1, "scale": ..., "threshold": 0.5,
"trained_rows": n, "dissatisfied_rows": k, "dissatisfied_at_most": {scale: score}, "created_at": ISO time,
"sklearn": version, "pipeline": ...}`` (``dissatisfied_at_most``: the cut-offs its labels were made with).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any, Literal

import joblib
import numpy as np
from numpy.typing import NDArray
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import FunctionTransformer

from feedback.analysis.scales import DEFAULT_CUTOFFS, SCALE_NAMES, Cutoffs
from feedback.analysis.sentiment import score_text

FORMAT = "feedback-dissatisfaction-model"
FORMAT_VERSION = 1


def is_dissatisfied(score: int, scale: str, cutoffs: Cutoffs = DEFAULT_CUTOFFS) -> bool:
    """The label a score gives its comment: in the scale's low band (ValueError outside its range)."""
    return cutoffs.band(scale, score) == "low"


def polarities(texts: Sequence[str]) -> NDArray[np.float64]:
    """TextBlob polarity of each text (-1..1)."""
    return np.array([score_text(t).polarity for t in texts], dtype=np.float64)


def _polarity_column(texts: Any) -> NDArray[np.float64]:
    return polarities(list(texts)).reshape(-1, 1)


def build_pipeline() -> Pipeline:
    features = FeatureUnion(
        [
            (
                "words",
                TfidfVectorizer(
                    ngram_range=(1, 2), min_df=2, sublinear_tf=True, strip_accents="unicode", lowercase=True
                ),
            ),
            (
                "chars",
                TfidfVectorizer(
                    analyzer="char_wb",
                    ngram_range=(2, 5),
                    min_df=2,
                    sublinear_tf=True,
                    lowercase=True,
                    max_features=200_000,
                ),
            ),
            ("polarity", FunctionTransformer(_polarity_column)),
        ]
    )
    classifier = LogisticRegression(C=4.0, class_weight="balanced", max_iter=2000)
    return Pipeline([("features", features), ("classifier", classifier)])


@dataclass
class DissatisfactionModel:
    """Scores texts with P(dissatisfied). ``pipeline`` None means TextBlob polarity alone."""

    scale: str = "any"
    pipeline: Pipeline | None = None
    threshold: float = 0.5
    trained_rows: int = 0
    dissatisfied_rows: int = 0
    cutoffs: Cutoffs = DEFAULT_CUTOFFS
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    note: str = ""

    @property
    def kind(self) -> Literal["learned", "textblob"]:
        return "textblob" if self.pipeline is None else "learned"

    def score(self, texts: Sequence[str]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """(P(dissatisfied), polarity) for each text."""
        texts = [t or "" for t in texts]
        polarity = polarities(texts)
        if self.pipeline is None:
            return (1.0 - polarity) / 2.0, polarity
        if not texts:
            return np.zeros(0), polarity
        probability = self.pipeline.predict_proba(texts)[:, 1]
        return np.asarray(probability, dtype=np.float64), polarity

    def dissatisfied(
        self, probability: NDArray[np.float64], polarity: NDArray[np.float64]
    ) -> NDArray[np.bool_]:
        if self.pipeline is None:
            return np.asarray(polarity < self.cutoffs.negative_polarity)
        return np.asarray(probability >= self.threshold)

    def save(self, path: Path) -> None:
        if self.pipeline is None:
            raise ValueError("a TextBlob-only model has nothing to save")
        payload = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "scale": self.scale,
            "threshold": self.threshold,
            "trained_rows": self.trained_rows,
            "dissatisfied_rows": self.dissatisfied_rows,
            "dissatisfied_at_most": {name: self.cutoffs.of(name).low_max for name in SCALE_NAMES},
            "created_at": self.created_at,
            "sklearn": version("scikit-learn"),
            "note": self.note,
            "pipeline": self.pipeline,
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        joblib.dump(payload, tmp, compress=3)
        tmp.replace(path)


class ModelFileError(ValueError):
    """A file that is not a dissatisfaction model this version can read."""


def load_model(path: Path) -> DissatisfactionModel:
    """A saved model (trusted input: loading unpickles it)."""
    try:
        payload = joblib.load(path)
    except FileNotFoundError:
        raise
    except Exception as exc:
        raise ModelFileError(f"{path}: not a model file ({exc.__class__.__name__})") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ModelFileError(f"{path}: not a feedback dissatisfaction model")
    if payload.get("version") != FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: model format version {payload.get('version')}; this program reads "
            f"version {FORMAT_VERSION}: train it again"
        )
    return DissatisfactionModel(
        scale=str(payload["scale"]),
        pipeline=payload["pipeline"],
        threshold=float(payload["threshold"]),
        trained_rows=int(payload["trained_rows"]),
        dissatisfied_rows=int(payload["dissatisfied_rows"]),
        created_at=str(payload["created_at"]),
        note=str(payload.get("note", "")),
    )


def fit_model(
    texts: Sequence[str],
    labels: Sequence[bool],
    scale: str = "any",
    min_rows: int = 200,
    cutoffs: Cutoffs = DEFAULT_CUTOFFS,
) -> DissatisfactionModel:
    """Learn P(dissatisfied | text) from labels made with ``cutoffs``; TextBlob alone (with ``note`` saying
    why) on too little data."""
    pairs = [(t.strip(), bool(y)) for t, y in zip(texts, labels, strict=True) if t and t.strip()]
    positives = sum(1 for _, y in pairs if y)
    if len(pairs) < min_rows:
        return DissatisfactionModel(
            scale,
            None,
            trained_rows=len(pairs),
            dissatisfied_rows=positives,
            cutoffs=cutoffs,
            note=f"{len(pairs)} scored texts, fewer than {min_rows}: TextBlob polarity",
        )
    if positives == 0 or positives == len(pairs):
        return DissatisfactionModel(
            scale,
            None,
            trained_rows=len(pairs),
            dissatisfied_rows=positives,
            cutoffs=cutoffs,
            note="every scored text has the same label: TextBlob polarity",
        )
    pipeline = build_pipeline()
    pipeline.fit([t for t, _ in pairs], np.array([y for _, y in pairs]))
    return DissatisfactionModel(
        scale, pipeline, trained_rows=len(pairs), dissatisfied_rows=positives, cutoffs=cutoffs
    )


# A disagreement: a top score with a text the model is sure is unhappy, or a bottom score with a text it is
# sure is happy. Top: NPS 9-10, CSAT 5, CES 6-7; bottom: NPS 0-4, CSAT 1-2, CES 1-2.
TOP_AT_LEAST: dict[str, int] = {"nps": 9, "csat": 5, "ces": 6}
BOTTOM_AT_MOST: dict[str, int] = {"nps": 4, "csat": 2, "ces": 2}
SURE = 0.8  # P(dissatisfied) at least this (or at most 1 - this) for a learned model
SURE_POLARITY = 0.3  # |polarity| at least this for TextBlob alone


def disagreement(score: int, scale: str, probability: float, polarity: float, model_kind: str) -> str | None:
    """Why score and text disagree ("high score, unhappy text" / "low score, happy text"), or None."""
    if score >= TOP_AT_LEAST[scale]:
        unhappy = polarity <= -SURE_POLARITY if model_kind == "textblob" else probability >= SURE
        return "high score, unhappy text" if unhappy else None
    if score <= BOTTOM_AT_MOST[scale]:
        happy = polarity >= SURE_POLARITY if model_kind == "textblob" else probability <= 1 - SURE
        return "low score, happy text" if happy else None
    return None
