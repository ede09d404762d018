"""The fast scorer gives what TextBlob(text).sentiment gives, on real customer text read at test time."""

from __future__ import annotations

import csv
import re
import sys
from pathlib import Path

from textblob import TextBlob
from textblob._text import EMOTICONS

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


def _assert_equal_to_textblob(texts: list[str]) -> None:
    for text in texts:
        expected = TextBlob(text).sentiment
        got = score_text(text)
        assert (got.polarity, got.subjectivity) == (expected.polarity, expected.subjectivity), repr(text)


def test_fast_scorer_equals_textblob_around_every_kind_of_whitespace() -> None:
    spaces = [chr(c) for c in range(sys.maxunicode + 1) if re.fullmatch(r"\s", chr(c)) or chr(c).isspace()]
    assert len(spaces) > 20
    texts = []
    for c in spaces:
        texts += [f"good{c}bad", f"{c}not{c}{c}great :){c}", f"nice.{c}{c}awful!{c}"]
        texts.append(f":{c}D{c}happy (!){c}ok")
    _assert_equal_to_textblob(texts)


def test_fast_scorer_equals_textblob_with_every_emoticon_anywhere_in_a_post() -> None:
    faces = [face for faces in EMOTICONS.values() for face in faces]
    texts = []
    for face in faces:
        spaced = " ".join(face)
        texts += [
            f"{face} the app is slow",
            f"the app is slow {face}",
            f"the app is slow{face}",
            f"so slow. {face} fixed now! {face}",
            f"@user 3 days late <url> {face} 8f3a2c",
            f"waited {spaced} for hours",
            f'"late" {face}. (!) it {face}\u2019s fine',
            f"{face}\n\nsecond paragraph {face}",
        ]
    _assert_equal_to_textblob(texts)


def test_fast_scorer_equals_textblob_on_posts_like_the_importers() -> None:
    """Links and handles as normalize leaves them, digits, tags, contractions and quotes; no emoticons."""
    texts = [
        "Ugh, @user the delivery isn't great and I'm not happy: 3 weeks late <url> 18f2c4",
        "So my account has been fast well done! fail 103ef3 <url>",
        "They've said \u201cwe'll call\u201d... they didn't. 2/10 would not recommend 8d0e3b",
        "RT great, really great service >> the store; 10/10 X-mas 'gift' OK?!",
    ]
    _assert_equal_to_textblob(texts)
