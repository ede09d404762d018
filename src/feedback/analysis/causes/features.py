"""Text normalisation, tokens and the canonical (order-free) form of an input.

Tokens come from a regular expression, never from NLTK (its corpora cannot be downloaded on an offline
server). A light suffix stripper folds plurals and verb forms ("charges", "charged" -> "charg") so that
counts add up; labels show each stem's most frequent surface word.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
SPACE = re.compile(r"\s+")
# Words that say nothing about a cause in customer feedback, beside English stop words.
STOP_WORDS = frozenset(ENGLISH_STOP_WORDS) | {
    "i'm", "i've", "i'd", "i'll", "don't", "didn't", "doesn't", "can't", "won't", "isn't", "wasn't", "it's",
    "xxxx", "xx", "im", "ive", "dont", "didnt", "just", "really", "like", "want", "need", "did", "does",
    "got", "get", "know", "tell", "help", "thank", "thanks", "hi", "hello", "please", "ok", "okay",
}  # fmt: skip
SUFFIXES = ("ing", "ed", "es", "s")
# Social noise that names no failure: links, @handles, #hashtags (mostly brands), e-mail addresses, "RT",
# and redaction marks (CFPB writes XXXX).
NOISE = re.compile(r"https?://\S+|www\.\S+|\S+@\S+\.\S+|[@#]\w+|\brt\b|\bx{2,}\b", re.IGNORECASE)
PHRASE_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+|-[a-z0-9]+)*", re.IGNORECASE)  # "top-up" is one word
NEGATIONS = frozenset({"not", "no", "never", "cannot", "nothing", "without", "nobody", "none"})
# Words of the English stop list that say what went wrong in a name ("wrong amount", "top up", "call back",
# "not showing up", "too small", "get a card"): kept in phrases, though not in the engines' terms.
NAMING_WORDS = frozenset({
    "amount", "bill", "bottom", "call", "detail", "empty", "fill", "find", "fire", "first", "found", "front",
    "full", "get", "interest", "last", "move", "name", "part", "show", "side", "system", "thick", "thin",
    "top",
})  # fmt: skip
# Words that say nothing of a cause in a name, though not stop words ("dress looked", "thought i had lost").
VAGUE_WORDS = frozenset({
    "look", "looks", "looked", "looking", "think", "thought", "way", "thing", "things", "lot", "bit", "say",
    "says", "said", "wondering", "try", "tried", "trying", "recommend", "love", "loved", "wanted",
})  # fmt: skip
PARTICLES = frozenset({"up", "out", "off", "back", "down", "over"})  # end a phrase after a word ("show up")
INTENSIFIERS = frozenset({"too", "still"})  # may start a phrase, like a negation ("too small")
# "haven't", "didnt", "can't" -> "not" / "cannot": a negation reads the same however it was typed.
NEGATED_STEMS = frozenset({
    "do", "does", "did", "has", "have", "had", "is", "are", "was", "were", "could", "would", "should", "wo",
    "ca", "must", "need", "ai",
})  # fmt: skip


AUXILIARY_OF = {"wo": "will", "ca": "can", "sha": "shall"}  # "won't" -> "will not"


def normalize_text(text: str) -> str:
    """Lowercase, whitespace collapsed: two texts that differ only in case or spacing are one."""
    return SPACE.sub(" ", text.lower()).strip()


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    for suffix in SUFFIXES:
        if len(word) > len(suffix) + 3 and word.endswith(suffix) and not word.endswith("ss"):
            return word[: -len(suffix)]
    return word[:-1] if len(word) > 4 and word.endswith("e") else word


def surface_words(text: str) -> list[str]:
    """The content words of ``text`` as written (lowercase), stop words removed."""
    return [w for w in TOKEN.findall(text.lower()) if w not in STOP_WORDS and not w.isdigit()]


def terms(text: str) -> list[str]:
    """Stems of the content words, then adjacent pairs ("card arriv"): a text's terms for TF-IDF."""
    words = [stem(w) for w in surface_words(text)]
    return words + [f"{a} {b}" for a, b in itertools.pairwise(words)]


def space_terms(text: str) -> list[str]:
    """The default engine's word terms: ``terms``, and every pair of adjacent words as written, stop words
    included ("not_receiv", "how_long", "can_i"), marked by "_": the little words that tell one request from
    another ("has not arrived" / "has arrived", "how do I" / "why did I") count without counting alone."""
    every = [stem(w) for w in TOKEN.findall(text.lower())]
    return terms(text) + [f"{a}_{b}" for a, b in itertools.pairwise(every)]


def phrase_tokens(text: str) -> list[str]:
    """Lowercase words for phrases, social noise removed and every negation spelled "not" (or "cannot"):
    "didn't" and "didnt" read "did not", "still isn't" reads "is still not".

    An acronym written in capitals that would read as a stop word ("in the US", "IT") keeps its capitals,
    unless the whole text is in capitals."""
    out = []
    shouting = text.isupper()
    for written in PHRASE_TOKEN.findall(NOISE.sub(" ", text)):
        word = written.lower()
        if not shouting and written.isupper() and word in ENGLISH_STOP_WORDS and word not in ("i", "am", "a"):
            out.append(written)
        elif word in ("can't", "cant"):
            out.append("cannot")
        elif (word.endswith("n't") and word[:-3] in NEGATED_STEMS) or (
            word.endswith("nt") and word[:-2] in NEGATED_STEMS - {"wo"}
        ):
            written_as = word[:-3] if word.endswith("n't") else word[:-2]
            auxiliary = AUXILIARY_OF.get(written_as, written_as)
            adverb = [out.pop()] if out and out[-1] == "still" else []
            out.extend([auxiliary, *adverb, "not"] if auxiliary != "ai" else [*adverb, "not"])  # is still not
        else:
            out.append(word)
    return out


@dataclass(frozen=True)
class Canonical:
    """The distinct normalised texts of an input, sorted, so any order of its rows gives the same result.

    ``index[i]`` is the distinct text of input row i; ``counts[j]`` how many rows have distinct text j;
    ``originals[j]`` one of those rows' texts as written (the smallest, so it too is order-free).
    """

    texts: list[str]
    index: NDArray[np.int64]
    counts: NDArray[np.int64]
    originals: list[str]


def canonicalize(texts: Iterable[str]) -> Canonical:
    given = list(texts)
    normalized = [normalize_text(t) for t in given]
    unique = sorted(set(normalized))
    position = {t: i for i, t in enumerate(unique)}
    index = np.fromiter((position[t] for t in normalized), dtype=np.int64, count=len(normalized))
    counts = np.bincount(index, minlength=len(unique)).astype(np.int64)
    originals = list(unique)
    seen = [False] * len(unique)
    for row, text in zip(index.tolist(), given, strict=True):
        original = text.strip()
        if not seen[row] or original < originals[row]:
            originals[row], seen[row] = original, True
    return Canonical(unique, index, counts, originals)


def surface_of_stems(texts: Sequence[str]) -> dict[str, str]:
    """Each stem's most frequent surface word (ties: alphabetical), to show labels people can read."""
    tally: dict[str, dict[str, int]] = {}
    for text in texts:
        for word in surface_words(text):
            by_word = tally.setdefault(stem(word), {})
            by_word[word] = by_word.get(word, 0) + 1
    return {s: min(words.items(), key=lambda kv: (-kv[1], kv[0]))[0] for s, words in tally.items()}
