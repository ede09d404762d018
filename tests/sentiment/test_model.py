"""The dissatisfaction model: labels from scores, learning, the TextBlob fallback, the model file."""

from __future__ import annotations

from pathlib import Path

import joblib
import pytest

from feedback.analysis.dissatisfaction import (
    ModelFileError,
    disagreement,
    fit_model,
    is_dissatisfied,
    load_model,
)
from tests.sentiment.corpus import comments


def test_labels_follow_the_documented_cut_offs() -> None:
    assert [is_dissatisfied(s, "nps") for s in (0, 6, 7, 10)] == [True, True, False, False]
    assert [is_dissatisfied(s, "csat") for s in (1, 2, 3, 5)] == [True, True, False, False]  # 3: neutral
    assert [is_dissatisfied(s, "ces") for s in (1, 3, 4, 7)] == [True, True, False, False]
    with pytest.raises(ValueError):
        is_dissatisfied(11, "nps")


def test_too_little_scored_text_falls_back_to_textblob() -> None:
    model = fit_model(["terrible service", "lovely people"], [True, False], min_rows=200)
    assert model.kind == "textblob" and "fewer than 200" in model.note
    probability, polarity = model.score(["terrible service", "lovely people"])
    assert list(model.dissatisfied(probability, polarity)) == [True, False]
    one_class = fit_model(["bad"] * 300, [True] * 300, min_rows=10)
    assert one_class.kind == "textblob"


def test_learns_what_unhappy_customers_write_and_survives_a_round_trip(tmp_path: Path) -> None:
    data = comments(300)
    model = fit_model([t for t, _ in data], [is_dissatisfied(s, "nps") for _, s in data], "nps", min_rows=50)
    assert model.kind == "learned" and model.trained_rows == 300 and model.dissatisfied_rows == 100
    # No lexicon word says "charged twice" or "hung up" is bad; the scores taught it.
    unseen = ["I was charged twice and they hung up on me.", "Quick and easy, the agent was lovely."]
    probability, _ = model.score(unseen)
    assert probability[0] > 0.7 > 0.3 > probability[1]
    path = tmp_path / "model.joblib"
    model.save(path)
    again = load_model(path)
    assert (again.kind, again.scale, again.trained_rows) == ("learned", "nps", 300)
    assert list(again.score(unseen)[0]) == pytest.approx(list(probability))


def test_files_of_another_format_or_version_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "model.joblib"
    joblib.dump({"format": "something-else"}, path)
    with pytest.raises(ModelFileError, match="not a feedback"):
        load_model(path)
    joblib.dump({"format": "feedback-dissatisfaction-model", "version": 99}, path)
    with pytest.raises(ModelFileError, match="version 99"):
        load_model(path)


def test_disagreements() -> None:
    assert disagreement(10, "nps", 0.95, -0.8, "learned") == "high score, unhappy text"
    assert disagreement(1, "csat", 0.05, 0.9, "learned") == "low score, happy text"
    assert disagreement(10, "nps", 0.5, 0.0, "learned") is None
    assert disagreement(7, "nps", 0.99, -1.0, "learned") is None  # a passive is neither
    assert disagreement(9, "nps", 0.5, -0.6, "textblob") == "high score, unhappy text"
