"""The fast scorer gives what TextBlob(text).sentiment gives, on real customer text read at test time."""

from __future__ import annotations

import csv
from pathlib import Path

from textblob import TextBlob

from feedback.analysis.sentiment import score_text

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


def _real_texts() -> list[str]:
    texts: list[str] = []
    with (DATA / "clothing_reviews" / "reviews.csv").open(encoding="utf-8", newline="") as f:
        texts += [row["Review Text"] for row in csv.DictReader(f) if row["Review Text"]][:3000]
    with (DATA / "banking77" / "train.csv").open(encoding="utf-8", newline="") as f:
        texts += [row["text"] for row in csv.DictReader(f)][:2000]
    with (DATA / "cfpb" / "complaints_sample.csv").open(encoding="utf-8", newline="") as f:
        texts += [n for row in csv.DictReader(f) if (n := row["Consumer complaint narrative"])][:500]
    return texts


def test_fast_scorer_equals_textblob_on_real_customer_text() -> None:
    texts = _real_texts()
    assert len(texts) > 5000, "the shared data sets are missing"
    edge = ["", "   ", ":-) great!!!", "NOT bad... not bad ;-)", "I l0ve it \u2764", "Mr. Smith was rude."]
    for text in [*texts, *edge]:
        expected = TextBlob(text).sentiment
        got = score_text(text)
        assert (got.polarity, got.subjectivity) == (expected.polarity, expected.subjectivity), text
