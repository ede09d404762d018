"""Lexicon sentiment with TextBlob's offline pattern analyzer.

Only ``TextBlob(...).sentiment``'s analyzer is used: it ships its lexicon inside the package.
Tokenizers, taggers and lemmatizers need NLTK corpora that an offline server does not have.
"""

from __future__ import annotations

from importlib.metadata import version
from typing import NamedTuple

from textblob.en.sentiments import PatternAnalyzer

ANALYZER = f"textblob-pattern/{version('textblob')}"

_analyzer = PatternAnalyzer()


class Sentiment(NamedTuple):
    polarity: float  # -1 (negative) .. +1 (positive)
    subjectivity: float  # 0 (factual) .. 1 (opinion)


def score_text(text: str) -> Sentiment:
    """Polarity and subjectivity of one text, as TextBlob(text).sentiment computes them."""
    result = _analyzer.analyze(text)
    return Sentiment(float(result.polarity), float(result.subjectivity))
