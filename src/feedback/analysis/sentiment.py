"""Lexicon sentiment with TextBlob's offline pattern analyzer.

Only ``TextBlob(...).sentiment``'s analyzer is used: it ships its lexicon inside the package.
Tokenizers, taggers and lemmatizers need NLTK corpora that an offline server does not have.

``score_text`` gives exactly what ``TextBlob(text).sentiment`` gives, about seven times faster: it runs
the same steps as textblob's ``find_tokens`` and ``Sentiment.assessments`` (MIT, after pattern, BSD) on
a plain copy of the same lexicon, without the lazy dictionary's per-lookup overhead and the
namedtuple class that ``PatternAnalyzer.analyze`` creates on every call. At import it is checked
against textblob on probe texts; should a future textblob disagree, textblob's own code is used.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from importlib.metadata import version
from typing import Any, NamedTuple

import textblob._text as _pattern
from textblob.en import sentiment as _textblob_sentiment
from textblob.en.sentiments import PatternAnalyzer

log = logging.getLogger(__name__)

ANALYZER = f"textblob-pattern/{version('textblob')}"

_analyzer = PatternAnalyzer()


class Sentiment(NamedTuple):
    polarity: float  # -1 (negative) .. +1 (positive)
    subjectivity: float  # 0 (factual) .. 1 (opinion)


def _reference(text: str) -> Sentiment:
    """TextBlob's own code path (the definition of the result)."""
    result = _analyzer.analyze(text)
    return Sentiment(float(result.polarity), float(result.subjectivity))


# -- the same algorithm, without the overheads ---------------------------------------------------------

_EOS = _pattern.EOS
_PUNCTUATION: str = _pattern.PUNCTUATION
_LEADING = tuple(_PUNCTUATION.replace(".", ""))
_TRAILING = (*_LEADING, ".")
_ABBREVIATIONS: set[str] = _pattern.ABBREVIATIONS
_ABBR = (_pattern.RE_ABBR1.match, _pattern.RE_ABBR2.match, _pattern.RE_ABBR3.match)
_REPLACE: dict[str, str] = dict(_pattern.replacements)
_SENTENCE_END = ("...", ".", "!", "?", _EOS)
_SENTENCE_TAIL = ("'", '"', "\u201d", "\u2019", "...", ".", "!", "?", ")", _EOS)
_LINEBREAKS = re.compile(r"\n{2,}")
_SARCASM = _pattern.RE_SARCASM
_EMOTICONS = _pattern.RE_EMOTICONS
_IRONY = _pattern.IRONY
_MOOD = _pattern.MOOD


# Every contraction find_tokens replaces has an apostrophe: a text without one has none to replace.
_CONTRACTION_MARK = "'" if all("'" in a for a in _REPLACE) else ""
_FACES = [face for faces in _pattern.EMOTICONS.values() for face in faces]


def _commonness(char: str) -> int:
    """About how often a character occurs in posts, from 0 (seldom) up."""
    for rank, chars in enumerate((":;=", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "<>", "0123456789", "()-", ".,!?'")):
        if char in chars:
            return rank + 1
    return 7 if char.isalpha() else 0


# The emoticon pattern matches each face's characters in order, spaces between them optional, so a text
# with none of the seldomest character of each face has no emoticon: the slower pattern need not run.
_SELDOMEST = "".join(sorted({min(face, key=_commonness) for face in _FACES}))
_BUILT_AS_EXPECTED = _EMOTICONS.pattern == "({})($|\\s)".format(
    "|".join(" ?".join(map(re.escape, face)) for face in _FACES)
)
_MAYBE_EMOTICON = re.compile(f"[{re.escape(_SELDOMEST)}]" if _BUILT_AS_EXPECTED else "(?s).")  # else: always


def _join_emoticon(match: re.Match[str]) -> str:
    return match.group(1).replace(" ", "") + match.group(2)


def _split_token(t: str, tokens: list[str]) -> None:
    """find_tokens' handling of one whitespace-separated token with punctuation in it."""
    tail: list[str] = []
    while t.startswith(_LEADING) and t not in _REPLACE:
        tokens.append(t[0])
        t = t[1:]
    while t.endswith(_TRAILING) and t not in _REPLACE:
        if t.endswith(_LEADING):
            tail.append(t[-1])
            t = t[:-1]
        if t.endswith("..."):
            tail.append("...")
            t = t[:-3].rstrip(".")
        if t.endswith("."):
            if t in _ABBREVIATIONS or any(match(t) is not None for match in _ABBR):
                break
            tail.append(t[-1])
            t = t[:-1]
    if t != "":
        tokens.append(t)
    tokens.extend(reversed(tail))


def _words(string: str) -> list[str]:
    """The lower-cased words that Sentiment.__call__ assesses: " ".join(find_tokens(s)).split()."""
    if _CONTRACTION_MARK in string:  # literal patterns: str.replace is re.sub here
        for a, b in _REPLACE.items():
            string = string.replace(a, b)
    string = (
        string.replace("\u201c", " \u201c ")
        .replace("\u201d", " \u201d ")
        .replace("\u2018", " \u2018 ")
        .replace("\u2019", " \u2019 ")
        .replace("'", " ' ")
        .replace('"', ' " ')
    )
    string = string.replace("\r\n", "\n")
    paragraphs = "\n\n" in string
    if paragraphs:
        string = _LINEBREAKS.sub(f" {_EOS} ", string)
    tokens: list[str] = []
    for t in string.split():  # the same whitespace as re's \s: find_tokens' re.sub(r"\s+", " ", ...)
        if t.isalnum():  # no punctuation to split off
            tokens.append(t)
        else:
            _split_token(t, tokens)
    if not paragraphs:
        # The sentences are consecutive runs of the tokens, so when neither the sarcasm nor an emoticon
        # pattern matches the tokens joined (a match in a sentence would be one here too), the words are
        # the tokens, whatever the sentences.
        text = " ".join(tokens)
        if "(" not in text and (_MAYBE_EMOTICON.search(text) is None or _EMOTICONS.search(text) is None):
            return text.lower().split()
    sentences: list[list[str]] = [[]]
    i = j = 0
    while j < len(tokens):
        if tokens[j] in _SENTENCE_END:
            while j < len(tokens) and tokens[j] in _SENTENCE_TAIL:
                if tokens[j] in ("'", '"') and sentences[-1].count(tokens[j]) % 2 == 0:
                    break  # balanced quotes
                j += 1
            sentences[-1].extend([t for t in tokens[i:j] if t != _EOS] if paragraphs else tokens[i:j])
            sentences.append([])
            i = j
        j += 1
    sentences[-1].extend(tokens[i:j])
    words: list[str] = []
    for sentence in sentences:
        if sentence:
            text = " ".join(sentence)
            if "(" in text:
                text = _SARCASM.sub("(!)", text)
            words.extend(_EMOTICONS.sub(_join_emoticon, text).lower().split())
    return words


class _Lexicon:
    """The analyzer's word list as plain dicts: word -> (polarity, subjectivity, intensity, is adverb)."""

    def __init__(self, source: Any) -> None:
        if dict.__len__(source) == 0:
            source.load()
        modifiers = tuple(source.modifiers)
        self.words: dict[str, tuple[float, float, float, bool]] = {}
        for word, by_pos in dict.items(source):
            if None in by_pos:
                p, s, i = by_pos[None]
                self.words[word] = (p, s, i, any(m in by_pos for m in modifiers))
        self.labels: dict[str, str] = dict(source.labeler)
        self.negations = frozenset(source.negations)
        self.modifier: Callable[[str], bool] = source.modifier
        self.emoticons: dict[str, float] = {}
        for (_mood, polarity), faces in _pattern.EMOTICONS.items():
            for face in faces:
                self.emoticons.setdefault(face.lower(), polarity)


def _average(values: Iterable[float]) -> float:
    total: float = 0
    count = 0
    for value in values:
        total += 1 * value
        count += 1
    return total / float(count or 1)


def _fast(text: str, lexicon: _Lexicon) -> Sentiment:
    """Sentiment.assessments for a string (no part-of-speech tags), then the averages."""
    words, negations, emoticons = lexicon.words, lexicon.negations, lexicon.emoticons
    a: list[list[float]] = []  # [polarity, subjectivity, intensity, negated (-1) or not (1)]
    m: str | None = None  # preceding modifier ("really good")
    n: str | None = None  # preceding negation ("not good")
    for w in _words(text):
        known = words.get(w)
        if known is not None:
            p, s, i, is_modifier = known
            if m is None:
                a.append([p, s, i, 1])
            else:
                last = a[-1]
                last[0] = max(-1.0, min(p * last[2], +1.0))
                last[1] = max(-1.0, min(s * last[2], +1.0))
                last[2] = i
            if n is not None:
                last = a[-1]
                last[2] = 1.0 / last[2]
                last[3] = -1
            m = w if is_modifier else None
            n = w if w in negations else None
        else:
            if w in negations:
                n = w
            elif n and len(w.strip("'")) > 1:
                n = None
            if n is not None and m is not None and lexicon.modifier(m):
                a[-1][3] = -1
                n = None
            elif m is not None and len(w) > 2:
                m = None
            if w == "!" and len(a) > 0:
                a[-1][0] = max(-1.0, min(a[-1][0] * 1.25, +1.0))
            if w == "(!)":
                a.append([0.0, 1.0, 1.0, 1])
            if w.isalpha() is False and len(w) <= 5 and w not in _PUNCTUATION:
                face = emoticons.get(w)
                if face is not None:
                    a.append([face, 1.0, 1.0, 1])
    polarity = _average(x[0] * -0.5 if x[3] < 0 else x[0] for x in a)
    subjectivity = _average(x[1] for x in a)
    return Sentiment(float(polarity), float(subjectivity))


PROBES = (
    "The agent was really helpful and very kind!",
    "Not good. Not bad either... I waited 3 hours :( and nobody called back (!)",
    "I don't think it's great, it isn't terrible; they're nice but won't help. Mr. Smith e.g. was rude!!",
    "Absolutely terrible service!!! Never again :-) or maybe :D x D o.O <3 \u2665",
    '\u201cQuick\u201d they said \u2018fast\u2019 -- it was "slow" (really slow) [and] {awful} #fail @you',
    "Very, very good.\r\n\r\nSecond paragraph: not really bad, not at all a good idea, extremely  late.",
    "Friendly staff; the U.S. office? A.B. ok etc. ... The end.  \t Tabs\u00a0and\u2003spaces",
    "not very good not really not bad hardly helpful terribly slow incredibly nice quite poor",
    "",
    "!!! ... ??? (!) ( ! ) : ) ; ) :'( >:( 8-) x-D XD",
)


def _select() -> Callable[[str], Sentiment]:
    try:
        lexicon = _Lexicon(_textblob_sentiment)
        mismatches = [t for t in PROBES if _fast(t, lexicon) != _reference(t)]
    except Exception:  # a textblob whose internals moved: its own code still defines the result
        log.warning("fast sentiment unavailable; using textblob's analyzer", exc_info=True)
        return _reference
    if mismatches:
        log.warning(
            "fast sentiment disagrees with textblob %s on %r; using textblob's analyzer",
            version("textblob"),
            mismatches[0],
        )
        return _reference
    return lambda text: _fast(text, lexicon)


_score = _select()


def score_text(text: str) -> Sentiment:
    """Polarity and subjectivity of one text, as TextBlob(text).sentiment computes them."""
    return _score(text)
