"""What describes a cluster: its terms (class-based TF-IDF, as BERTopic does; they identify a cause from run
to run), a name made of phrases taken from its own texts, and representative verbatims.

c-TF-IDF treats all texts of a cluster as one document: a term's weight is its frequency in the cluster
times log(1 + A / f), where A is the average number of terms per cluster and f the term's frequency over
all clusters (the unclustered texts count as one more class, so words common everywhere score low).

Names (``phrase_labels``) are extractive, no language model: the phrases of the cluster's texts (up to 5
words that count, 8 in all, never across a comma or full stop; social noise out, negation kept and spelled
"not"), scored by the share of the cluster's texts that say them
times how much of the phrase's use falls in this cluster, longer phrases preferred when they are about as
frequent, and phrases with a word of failure ("declined", "wrong", "twice", a negation) preferred. A phrase
never starts or ends with a stop word (a negation, "too" or "still" may start one; a particle may end one
after a word: "not showing up"); words of the English stop list that say what went wrong ("amount", "top",
"bill", "call") are not stop words here, nor is an acronym in capitals ("US"). Inflections count as one
phrase ("charged a fee", "charging the fee") shown in its most frequent wording. A phrase right after a
negation is not counted ("not received my card" does not count as "received my card"), so two clusters that
differ by a negation get different names; one failure put many ways counts as one ("cannot withdraw", "was
not able to withdraw"). Reviews of one product with varied complaints are named by the product and the two
complaints said most ("dress: runs small / too thin"), and so are long complaints whose topic names no failure
("credit report: identity theft / ..."). A request keeps its verb ("get a visa card", not "visa card"), and a
question's negation stays with its verb ("why hasn't my payment gone through" says "payment not gone").
One failure of a topic said in many wordings counts as one ("card not arrived", "card not come" for "order a
card"), a bare negation keeps its object ("payment I do not recognize"), "-ise" and "-ize" are one spelling,
and "forgot" is a word of failure. A cluster most of whose texts deny something ("has not shown up", "isn't
listed") gets the denial said most, with the name's topic when said with it ("refund is not showing up in my
statement"), after it when said of another noun ("deposited a cheque / balance has not changed"); a question's
negation crosses a relative clause to its verb ("why hasn't the transaction I did arrived"), and a modifier
most of the cluster says is never swapped for a verb ("friends top up my account").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Container, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from sklearn.feature_extraction.text import CountVectorizer

from feedback.analysis.causes.engines import Vectors
from feedback.analysis.causes.features import (
    INTENSIFIERS,
    NAMING_WORDS,
    NEGATIONS,
    NOISE,
    PARTICLES,
    STOP_WORDS,
    VAGUE_WORDS,
    phrase_tokens,
    stem,
    surface_of_stems,
    terms,
)

TOP_TERMS = 30  # kept per cluster (for matching across runs)
LABEL_TERMS = 3  # shown in a label
VERBATIMS = 3
LABEL_SEPARATOR = " / "  # between the phrases of a name
SUBJECT_MARK = ":"  # ends the key of a name's subject, shown before its complaints ("dress: too thin")
MAX_PHRASE = 5  # words that count in a phrase's key
MAX_SPAN = 8  # words of a phrase in all ("direct debit payment that I did not do"); one of more than
# MAX_PHRASE words never holds a conjunction ("phone or it has been stolen")
# Words between a negation and the action it denies ("not able to", "will not let me", "not allowed to").
ENABLERS = frozenset({
    "able", "allow", "allowed", "allowing", "let", "letting", "me", "to", "be", "been", "seem",
})  # fmt: skip
DETERMINERS = frozenset({"my", "the", "a", "an", "your", "our", "this", "that", "his", "her", "their"})
PRONOUNS = frozenset({"i", "we", "you", "they", "he", "she", "it"})  # subjects of an inverted question
RELATIVES = PRONOUNS | {"that", "which", "who"}  # a relative clause starts with one ("the card you sent")
QUESTION_WORDS = frozenset({"why", "how", "when", "where", "what", "which", "who"})
ACTION_CUES = frozenset({"to", "i", "we", "me", "can", "could", "please"})  # a verb follows them
CONJUNCTIONS = frozenset({"and", "or", "but", "because", "so", "if", "when", "although", "though", "while"})
DONE_VERBS = frozenset({"do", "done", "made"})  # stop words that end a phrase after a negation ("did not do")
AUXILIARIES = frozenset({
    "do", "does", "did", "have", "has", "had", "is", "are", "was", "were", "will", "would", "could", "should",
})  # fmt: skip
PHRASE_SAMPLE = 150  # distinct texts per cluster read for its name (a fixed stride sample: O(clusters))
BACKGROUND_SAMPLE = 5_000  # unclustered texts read as the background
SAID_BY_MOST = 0.5  # a first phrase said by this share of the cluster is the whole name
SECOND_PHRASE_SHARE = 0.2  # else a second phrase joins when this share of the cluster says it
SINGLE_WORD = 0.1  # a lone word names a cluster only when no phrase of two words or more repeats in it
SUBJECT_SHARE = 0.4  # a phrase said by this share of a cluster whose complaints vary is its subject ("dress")
COMPLAINT_SHARE = 0.03  # a complaint said by this share of such a cluster may follow its subject
COMPLAINT_WORDS = 4  # words that count in a complaint (a longer one is a form letter's)
# A verdict on a product is no complaint about it ("did not work for me", "would not buy it again").
VERDICTS = frozenset({"not", "cannot", "never", "work", "buy", "keep"})
LONG_TEXT = 30  # words a cluster's texts have on average when a topic of theirs is named with its complaints
HEAD_SHARE = 0.1  # the wordings of a failure of a topic's head said together by this share take its place
OBJECT_SHARE = 0.25  # a bare negation said with one object by this share of its texts says the object too
DENIED_BY_MOST = 0.5  # a cluster this share of whose texts deny something is named by the denial
DENIALS = frozenset({"not", "cannot", "never"})  # the negations that deny an action ("not shown")
FAILURE_OF_TOPIC = 0.25  # a failure said of a topic by this share of its texts (or a fifth) takes its place
KEPT_PHRASES = 40  # ranked per cluster (complaints that follow a subject are looked for among them)
NAME_FROM = 12  # the best phrases a name is otherwise made of
EXTEND_TOP = 40  # the best phrases of a cluster that may give way to a longer one
EXTEND_SHARE = 0.6  # a longer phrase said by this share of a phrase's texts names them better
# Stems of words that say something went wrong: a phrase with one names a failure, which is what a cause is.
FAILURE_STEMS = frozenset(
    stem(w)
    for w in (
        "wrong", "failed", "fail", "declined", "rejected", "missing", "lost", "stolen", "twice", "double",
        "duplicate", "extra", "error", "broken", "late", "delayed", "pending", "stuck", "blocked", "locked",
        "frozen", "cancelled", "charged", "refund", "hacked", "compromised", "unauthorized", "fraud",
        "incorrect", "expired", "unable", "problem", "issue", "slow", "rude", "crash", "damaged", "reverted",
        "disappeared", "never", "not", "cannot", "too", "still", "without", "no", "theft", "fraudulent",
        "inaccurate", "harassing", "harassment", "forgot",
        # what reviews of a product complain of
        "runs", "tight", "loose", "short", "thin", "sheer", "cheap", "poor", "itchy",
        "scratchy", "shrank", "shrunk", "ripped", "torn", "faded", "unflattering", "return", "returned",
    )
)  # fmt: skip
REQUESTED = frozenset(map(stem, ("refund", "return", "returned")))  # failures asked for ("request a refund")
FORMS_OF = {"forget": "forgot", "forgets": "forgot", "forgetting": "forgot", "forgotten": "forgot"}
CLAUSE_BREAK = re.compile(r"[,;:!?()]|\.(?!\d)")  # a phrase never runs across one
Ranked = tuple[str, float, float]  # phrase, score, share of the cluster's texts that say it
Said = tuple[str, bool]  # a phrase's wording, and whether it is said as an action (a verb: "get a card")


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


def _naming_stop(word: str) -> bool:
    generic = word in STOP_WORDS and word not in NAMING_WORDS
    return generic or word in VAGUE_WORDS or not any(c.isalpha() for c in word)


def _key_word(word: str) -> str:
    """A word as it counts in a phrase's key: its stem, hyphens as spaces ("top-ups" -> "top up"), one
    spelling of "-ise"/"-ize" ("recognised" and "recognized" are one word) and of "forget"."""
    lowered = word.lower()
    return _spelled_word(stem(FORMS_OF.get(lowered, lowered))).replace("-", " ")


def _spelled_word(stemmed: str) -> str:
    """A stem's British "-is" spelled "-iz" ("recognis" -> "recogniz")."""
    return stemmed[:-2] + "iz" if len(stemmed) >= 6 and stemmed.endswith("is") else stemmed


def _spelled(key: str) -> str:
    """Each word of ``key`` spelled as ``_spelled_word`` does."""
    return " ".join(map(_spelled_word, key.split(" ")))


def phrases_of(text: str) -> dict[str, Said]:
    """The candidate phrases of one text, by key: 1-5 words, at least one content word, not right after a
    negation; a phrase starts with a content word, a negation or "too"/"still" and ends with a content word
    or, after one, a particle ("not showing up", "top up"), and never runs across a comma or a full stop.
    Its key is its stems without stop words
    ("charged a fee" and "charges the fee" are one phrase); with its wording, whether it is said as an action
    (its first word follows "to", "I", "me" or "can": "how do I link my card", "help me get a card")."""
    found: dict[str, Said] = {}
    for clause in CLAUSE_BREAK.split(NOISE.sub(" ", text)):
        for key, wording in _clause_phrases(phrase_tokens(clause)).items():
            found.setdefault(key, wording)
    return found


def _uninverted(words: list[str]) -> list[str]:
    """A question's negation moved to the verb it denies: "why has not my payment gone through" (from
    "why hasn't my payment gone through") reads "why has my payment not gone through", so it counts as
    "payment not gone", not as "not my payment" (which is what "this is not my payment" says). The verb is
    the last word of the run of words that count after the determiner; a run of one word is left alone.
    After a pronoun the negation goes right after it ("why did not I get" -> "why did I not get"); after a
    noun and a relative clause, before the clause's last word that counts ("why has not the transaction I did
    to my friend arrived" -> "... my friend not arrived")."""
    if "not" not in words:
        return words
    out = list(words)
    for at in range(len(out) - 2):
        inverted = out[at] in AUXILIARIES and out[at + 1] == "not" and out[at + 2] in DETERMINERS | PRONOUNS
        if not inverted or not (at == 0 or out[at - 1] in QUESTION_WORDS):
            continue
        if out[at + 2] in PRONOUNS:  # "why did not I get" -> "why did I not get"
            out[at + 1], out[at + 2] = out[at + 2], "not"
            continue
        end = at + 3
        while end < len(out) and not _naming_stop(out[end]) and out[end] not in NEGATIONS:
            end += 1
        if end - (at + 3) >= 2:
            out[at + 1 : end] = [*out[at + 2 : end - 1], "not", out[end - 1]]
        elif end < len(out) and out[end] in RELATIVES:  # "why has not the card you sent arrived"
            said = [i for i in range(end + 1, len(out)) if not _naming_stop(out[i])]
            if said and out[said[-1]] not in NEGATIONS:
                out[at + 1 : said[-1]] = [*out[at + 2 : said[-1]], "not"]
    return out


def _clause_phrases(words: list[str]) -> dict[str, Said]:
    words = _uninverted(words)
    stop = [_naming_stop(w) for w in words]
    starts = [not s or w in NEGATIONS or w in INTENSIFIERS for w, s in zip(words, stop, strict=True)]
    content = [not s and w not in NEGATIONS for w, s in zip(words, stop, strict=True)]
    ends = [
        not s or (i > 0 and w in PARTICLES and content[i - 1])
        for i, (w, s) in enumerate(zip(words, stop, strict=True))
    ]
    done = [i > 0 and words[i - 1] in NEGATIONS and w in DONE_VERBS for i, w in enumerate(words)]
    ends = [e or d for e, d in zip(ends, done, strict=True)]  # "a payment I did not do"
    kept = [
        not s or w in NEGATIONS or w in INTENSIFIERS or w in PARTICLES or d
        for w, s, d in zip(words, stop, done, strict=True)
    ]
    found: dict[str, Said] = {}
    for first in range(len(words)):
        if not starts[first] or (first and words[first - 1] in NEGATIONS):
            continue
        said = joined = 0
        for end in range(first + 1, min(first + MAX_SPAN, len(words)) + 1):
            said += kept[end - 1]
            joined += words[end - 1] in CONJUNCTIONS
            if said > MAX_PHRASE or (end - first > MAX_PHRASE and joined):
                break
            if ends[end - 1] and any(content[first:end]):
                span = range(first, end)
                key = " ".join(_key_word(words[i]) for i in span if kept[i])
                action = first > 0 and words[first - 1] in ACTION_CUES and content[first]
                found.setdefault(key, (_wording(words, first, end), action))
    for first, word in enumerate(words):
        if word in ("not", "cannot"):
            found.update({k: (w, False) for k, w in _negated_action(words, first).items()})
    return found


def _negated_action(words: list[str], first: int) -> dict[str, str]:
    """What a negation says could not be done, however it was put: "was not able to withdraw", "cannot
    withdraw", "will not let me withdraw" are all "not withdraw" (shown in their most frequent wording)."""
    at = first + 1
    while at < len(words) and at - first <= 4 and words[at] in ENABLERS:
        at += 1
    if at == first + 1 or at >= len(words) or _naming_stop(words[at]) or words[at] in NEGATIONS:
        return {}
    return {f"not {_key_word(words[at])}": _wording(words, first, at + 1)}


def _wording(words: list[str], first: int, end: int) -> str:
    """The words of a phrase as said, with the auxiliary of a leading negation ("did not receive")."""
    said_of_a_verb = end > first + 1 and not _naming_stop(words[first + 1])  # not "has not my card"
    if first and words[first] in NEGATIONS and words[first - 1] in AUXILIARIES and said_of_a_verb:
        first -= 1
    return " ".join("I" if w == "i" else w for w in words[first:end])


def _stride(members: NDArray[np.int64], size: int) -> NDArray[np.int64]:
    return members[:: -(-len(members) // size)] if len(members) > size else members


def phrase_labels(
    texts: Sequence[str],
    labels: NDArray[np.int64],
    weights: NDArray[np.int64],
    n_classes: int,
    phrases: int = 2,
    key_terms: Sequence[Sequence[str]] = (),
) -> list[str]:
    """A name for each class 0..n_classes-1 (``texts`` distinct, ``weights`` their counts; -1: unclustered).

    The best phrase, then (when it is said by under half of the cluster) the next best of two words or more
    that shares no word with it and is said by at least a fifth of the cluster. A phrase with one of the
    cluster's ``key_terms`` (its strongest c-TF-IDF stems) counts 1.5 times. Clusters whose names collide
    get their next phrase until the names differ. Ties: alphabetical.
    """
    read: list[tuple[int, NDArray[np.int64]]] = [
        (c, _stride(np.flatnonzero(labels == c), PHRASE_SAMPLE)) for c in range(n_classes)
    ]
    read.append((-1, _stride(np.flatnonzero(labels < 0), BACKGROUND_SAMPLE)))
    in_class: list[dict[str, float]] = []
    everywhere: dict[str, float] = {}
    totals: list[float] = []
    scales: list[float] = []
    written: dict[str, dict[str, float]] = {}  # phrase key -> its wordings in the clusters, by count
    as_action: dict[str, float] = {}  # phrase key -> how often it is said as an action
    long_texts: list[bool] = []  # per cluster: are its texts long (complaint narratives, reviews)?
    denied: list[float] = []  # per cluster: the share of its texts that deny something ("has not arrived")
    for cluster, members in read:
        counts: dict[str, float] = {}
        denying = 0.0
        total = float(weights[members].sum()) if len(members) else 0.0
        scale = (float(weights[labels == cluster].sum()) / total) if total else 0.0  # sample -> cluster
        for i in members.tolist():
            weight = float(weights[i])
            said = phrases_of(texts[i])
            denying += weight if any(("not" in k or "never" in k) and _denial(k) for k in said) else 0.0
            for key, (wording, action) in said.items():
                counts[key] = counts.get(key, 0.0) + weight
                if action:
                    as_action[key] = as_action.get(key, 0.0) + weight
                if cluster >= 0:
                    by_wording = written.setdefault(key, {})
                    by_wording[wording] = by_wording.get(wording, 0.0) + weight
        for key, n in counts.items():
            everywhere[key] = everywhere.get(key, 0.0) + n * scale
        if cluster >= 0:
            words = sum(len(texts[i].split()) for i in members.tolist())
            long_texts.append(words >= LONG_TEXT * max(len(members), 1))
            denied.append(denying / total if total else 0.0)
            in_class.append(counts)
            totals.append(total)
            scales.append(scale)
    keys = [
        frozenset(map(_spelled, key_terms[c])) if c < len(key_terms) else frozenset()
        for c in range(n_classes)
    ]
    ranked = [_rank(in_class[c], totals[c], scales[c], everywhere, keys[c]) for c in range(n_classes)]
    shown = {k: min(w.items(), key=lambda kv: (-kv[1], kv[0]))[0] for k, w in written.items()}

    def concentration(cluster: int) -> Callable[[str], float]:
        """The share of a phrase's use that falls in ``cluster``."""
        return lambda key: min(1.0, in_class[cluster].get(key, 0.0) * scales[cluster] / everywhere[key])

    total_use = {k: sum(w.values()) for k, w in written.items()}
    actions = {k for k, n in as_action.items() if k in total_use and n >= total_use[k] / 2}
    chosen = [
        _denied(name, ranked[c], shown) if denied[c] >= DENIED_BY_MOST and not long_texts[c] else name
        for c, name in enumerate(
            _name(r, phrases, shown, concentration(c), actions, long_texts[c]) for c, r in enumerate(ranked)
        )
    ]
    return _distinct(chosen, ranked, shown)


def _rank(
    counts: dict[str, float], total: float, scale: float, everywhere: dict[str, float], keys: frozenset[str]
) -> list[Ranked]:
    """Phrases by share of the cluster saying them x (share of their use in this cluster) ** 0.5 x length,
    half as much again with a key term or with a word of failure; then a phrase said almost as often in a
    longer phrase gives way to it."""
    scored = []
    for phrase, n in counts.items():
        if n < 2 and total >= 4:  # said once: not a repeated phrase
            continue
        share = n / total
        own = min(1.0, n * scale / everywhere[phrase])
        words = phrase.split(" ")
        score = share * own**0.5 * (1 + 0.1 * (len(words) - 2)) * (SINGLE_WORD if len(words) == 1 else 1.0)
        if keys and any(w in keys for w in words):
            score *= 1.5
        if _states_failure(phrase):
            score *= 1.5
        scored.append((phrase, score, share))
    scored.sort(key=lambda ps: (-ps[1], ps[0]))
    return _without_fragments(_extended(scored))


def _states_failure(phrase: str) -> bool:
    return any(w in FAILURE_STEMS for w in phrase.split(" "))


def _extended(scored: list[Ranked]) -> list[Ranked]:
    """A phrase ranks where a better one containing it ranks when that one is said by ``EXTEND_SHARE`` of as
    many texts ("top up" x 10, "limit on top up" x 8: the longer says more about the same texts)."""
    out: list[Ranked] = []
    for phrase, score, share in scored[:EXTEND_TOP]:
        padded = f" {phrase} "
        longer = [
            (p, sh)
            for p, _, sh in scored
            if p != phrase and padded in f" {p} " and sh >= EXTEND_SHARE * share
        ]
        if longer:
            best = max(longer, key=lambda ps: (ps[1], len(ps[0]), ps[0]))[0]
            out.append((best, score, max(sh for p, sh in longer if p == best)))
        else:
            out.append((phrase, score, share))
    unique: dict[str, Ranked] = {}
    for ranked in out:
        unique.setdefault(ranked[0], ranked)
    return list(unique.values())


def _without_fragments(scored: list[Ranked]) -> list[Ranked]:
    """A phrase inside a better-ranked one said by about as many texts says nothing new ("card" after "card
    not arrived"); one said by many more texts stays ("not working" after "contactless not working")."""
    kept: list[Ranked] = []
    for phrase, score, share in scored:
        padded = f" {phrase} "
        if not any(padded in f" {k} " and s >= EXTEND_SHARE * share for k, _, s in kept):
            kept.append((phrase, score, share))
        if len(kept) >= KEPT_PHRASES:
            break
    return kept


def _name(
    ranked: list[Ranked],
    phrases: int,
    known: Container[str],
    concentration: Callable[[str], float],
    actions: Container[str] = frozenset(),
    long_texts: bool = False,
) -> list[str]:
    """The best phrase; when it names no failure, the best that does and is said by a fifth of the texts,
    in its place when it contains it ("wrong amount of cash"), else beside it ("contactless payments / not
    working"); else, when the first is said by under half of them or is a bare negation ("not working"),
    the next."""
    if not ranked:
        return []
    subject = _subject(ranked, known, concentration)
    if subject:
        return subject
    complaints = ranked
    ranked = ranked[:NAME_FROM]
    name = [ranked[0][0]]
    used = set(ranked[0][0].split())
    if not _states_failure(name[0]):
        floor = min(SECOND_PHRASE_SHARE, ranked[0][2] * FAILURE_OF_TOPIC)
        said_of_it = [p for p, _, sh in ranked[1:] if sh >= floor and f" {name[0]} " in f" {p} "]
        longer = [p for p in said_of_it if _states_failure(p)]
        if longer:  # "amount of cash" -> "wrong amount of cash"
            return [longer[0]]
        topical = long_texts or ranked[0][2] >= SAID_BY_MOST  # a topic most say is named by it
        of_head = None if topical else _failure_of_head(name[0], complaints, floor, actions)
        if of_head:  # "order a card" -> "card has not arrived" (also "card still not here", "card not come")
            return [of_head]
        said_by = {p: sh for p, _, sh in complaints}
        acting = _action_on(name[0], ranked, floor, actions, said_by)
        if acting:  # "visa card" -> "get a visa card", "different currency" -> "exchange currency"
            name, used = [acting], set(acting.split())
        common = [p for p, _, sh in ranked[1:] if sh >= SECOND_PHRASE_SHARE and " " in p]
        failing = [p for p in common if _states_failure(p)]
        if failing and phrases > 1 and not used & set(failing[0].split()):
            return [*name, failing[0]]
        if long_texts:  # "credit report: victim of identity theft / does not relate to any transaction"
            return _with_complaints(name[0], complaints, known) or name
    bare = len(used) <= 2 and name[0].split(" ")[0] in NEGATIONS  # "not working": working what?
    # said by most: another failure joins only when most say it too ("no crew on board / flight delayed")
    whole = ranked[0][2] >= SAID_BY_MOST and not bare
    for phrase, _, share in ranked[1:]:
        if len(name) >= phrases:
            break
        words = set(phrase.split())
        enough = share >= SAID_BY_MOST and _states_failure(phrase) if whole else share >= SECOND_PHRASE_SHARE
        if enough and (len(words) > 1 or bare) and not used & words:
            name.append(phrase)
            used |= words
    said_of = _object_of(name[0], complaints, ranked[0][2]) if bare and len(name) == 1 else None
    return [said_of] if said_of else name  # "do not recognize" -> "payment I do not recognize"


def _denial(key: str) -> str | None:
    """The denial a phrase key says: "not" and the word its first negation denies ("not show" in "refund not
    show up statement", "not withdraw" in "cannot withdraw" and "atm not let withdraw"); None when none."""
    words = [w for w in key.split(" ") if w not in ENABLERS]  # "not able withdraw" -> "not withdraw"
    for at, word in enumerate(words[:-1]):
        if word in DENIALS and words[at + 1] not in NEGATIONS:
            denied = "do" if words[at + 1] in DONE_VERBS | {"make", "did"} else words[at + 1]
            return f"not {denied}"  # "cannot withdraw" -> "not withdraw", "did not make" -> "not do"
    return None


def _denied(name: list[str], ranked: list[Ranked], known: Container[str]) -> list[str]:
    """A name that denies nothing and names no failure (but one asked for: "refund"), for a cluster most of
    whose texts deny something: the denial said by
    most texts ("not show"), with the words of the name's topic it is said with ("refund in my statement" ->
    "refund is not showing up in my statement"), or after the topic when it is said of another noun
    ("deposited a cheque / balance has not changed"); of its phrases, the one whose words most texts say."""
    failing = any(w in FAILURE_STEMS - REQUESTED for p in name for w in p.split(" "))  # "transfer failed"
    if not name or failing or name[0].endswith(SUBJECT_MARK) or any(_denial(p) for p in name):
        return name
    denials: dict[str, list[tuple[str, float]]] = {}  # denial -> its phrases, nested ones once
    for phrase, _, share in ranked:
        denial, words = _denial(phrase), set(phrase.split(" "))
        if denial and not any(_nested(words, p) for p, _ in denials.get(denial, [])):
            denials.setdefault(denial, []).append((phrase, share))
    if not denials:
        return name
    denial = min(denials, key=lambda d: (-sum(s for _, s in denials[d]), d))
    most = max(share for phrase, _, share in ranked if _denial(phrase) == denial)
    said_by = {p: share for p, _, share in ranked}
    said = [  # by how much of the cluster says its words ("parcel", "tracking page"), then by its own share
        (sum(said_by.get(w, 0.0) for w in set(p.split(" ")) - DENIALS), share, p)
        for p, _, share in ranked
        if _denial(p) == denial and p in known and share >= OBJECT_SHARE * most
    ]
    if not said:
        return name
    best = max(said)[2]
    if set(name[0].split(" ")) & set(best.split(" ")):
        return [best]
    objects = [(share, p) for _, share, p in said if len(p.split(" ")) > 2 and share >= EXTEND_SHARE * most]
    return [name[0], max(objects)[1] if objects else best]  # "balance has not changed", "have not received"


def _failure_of_head(
    topic: str, ranked: list[Ranked], floor: float, actions: Container[str] = frozenset()
) -> str | None:
    """One failure said of a topic's head (its last word) in many wordings that share a word of failure and
    together reach ``floor`` of the cluster and ``HEAD_SHARE`` of it ("card not arrived", "card not come",
    "card still not here" for "order a card"): the wording said most. Nested phrases count once; a request
    ("revert a transaction") is no failure."""
    head = topic.split(" ")[-1]
    counted: list[tuple[str, float]] = []
    for phrase, _, share in ranked:
        words = set(phrase.split(" "))
        said = head in words and words - {head} - NEGATIONS and _states_failure(phrase)
        if said and phrase not in actions and not any(_nested(words, p) for p, _ in counted):
            counted.append((phrase, share))
    if not counted:
        return None
    best = max(counted, key=lambda ps: ps[1])[0]
    failure = set(best.split(" ")) & FAILURE_STEMS
    same = [share for phrase, share in counted if failure & set(phrase.split(" "))]
    return best if len(same) >= 2 and sum(same) >= max(floor, HEAD_SHARE) else None


def _nested(words: set[str], phrase: str) -> bool:
    other = set(phrase.split(" "))
    return words <= other or other <= words


def _object_of(negation: str, ranked: list[Ranked], share: float) -> str | None:
    """What a bare negation denies ("payment" for "do not recognize"): the word said with it in most of the
    phrases holding it and one more word, together by ``OBJECT_SHARE`` of the negation's texts; the phrase
    with that word said most ("payment I do not recognize"). None when there is none."""
    padded, size = f" {negation} ", len(negation.split(" ")) + 1
    by_word: dict[str, list[tuple[float, str]]] = {}
    for phrase, _, said in ranked:
        words = phrase.split(" ")
        extra = [w for w in words if w not in negation.split(" ")]
        if len(words) == size and padded in f" {phrase} " and len(extra) == 1:
            by_word.setdefault(extra[0], []).append((said, phrase))
    if not by_word:
        return None
    best = max(by_word.values(), key=lambda said: (sum(s for s, _ in said), max(said)))
    return max(best)[1] if sum(s for s, _ in best) >= OBJECT_SHARE * share else None


def _action_on(
    topic: str, ranked: list[Ranked], floor: float, actions: Container[str], said_by: Mapping[str, float]
) -> str | None:
    """What the texts of a topic ask to do with it: the phrase said as an action that ends on the topic's
    last word ("get a visa card" for "visa card"), said by ``floor`` of the cluster if it holds the whole
    topic, else by as many texts as the topic ("exchange currency" for "different currency"); the one
    said most. None when there is none, or when the topic is itself said as an action. A modifier said by
    most of the cluster (in a phrase of ``said_by``, the cluster's share by phrase) is never swapped:
    "friends top up my account" keeps its friends."""
    padded, head, share = f" {topic} ", topic.split(" ")[-1], ranked[0][2]
    if topic in actions:
        return None
    kept = any(  # no modifier swapped
        sh > SAID_BY_MOST for p, sh in said_by.items() for w in topic.split(" ")[:-1] if w in p.split(" ")
    )
    acting = [
        (sh, -i, p)
        for i, (p, _, sh) in enumerate(ranked[1:])
        if p in actions
        and " " in p
        and p.split(" ")[-1] == head
        and (sh >= floor if padded in f" {p} " else sh >= share and not kept)
    ]
    return max(acting)[2] if acting else None


def _subject(ranked: list[Ranked], known: Container[str], concentration: Callable[[str], float]) -> list[str]:
    """A subject and its complaints, when no phrase of two words or more is said by a fifth of the cluster
    but one word is said by most of its texts and is used mostly in this cluster (reviews of one garment):
    "dress: runs small / too thin", the two best complaints said by a few texts each (a complaint said with
    the subject drops it). Empty when the cluster has a common phrase, no subject, or its best phrase
    already says the subject ("phone was stolen")."""
    subject = max(ranked, key=lambda r: (r[2], r[1]))
    common = [p for p, _, share in ranked if share >= SECOND_PHRASE_SHARE and " " in p]
    if subject[2] < SUBJECT_SHARE or concentration(subject[0]) < SUBJECT_SHARE:
        return []
    named = ranked[0][0] != subject[0] and f" {subject[0]} " in f" {ranked[0][0]} "  # "phone was stolen"
    if common or named or _states_failure(subject[0]):
        return []
    return _with_complaints(subject[0], ranked, known)


def _with_complaints(subject: str, ranked: list[Ranked], known: Container[str]) -> list[str]:
    """``subject`` and the two complaints said most of it, each by ``COMPLAINT_SHARE`` of the cluster and
    sharing no word with it ("dress: runs small / too thin"); empty when none is."""
    used = set(subject.split())
    complaints: list[str] = []
    for said, _, share in ranked:
        phrase = f" {said} ".replace(f" {subject} ", " ").strip()  # "dress runs small" -> "runs small"
        words = set(phrase.split())
        said_well = 1 < len(words) <= COMPLAINT_WORDS and share >= COMPLAINT_SHARE and not words <= VERDICTS
        if said_well and phrase in known and _states_failure(phrase) and not words & used:
            complaints.append(phrase)
            used |= words
            if len(complaints) == 2:
                break
    return [subject + SUBJECT_MARK, *complaints] if complaints else []


def _render(name: list[str], wording: dict[str, str]) -> str:
    """The phrases' wordings joined by " / ", after the subject when the name has one."""
    if name and name[0].endswith(SUBJECT_MARK):
        return f"{wording[name[0][:-1]]}{SUBJECT_MARK} " + LABEL_SEPARATOR.join(wording[k] for k in name[1:])
    return LABEL_SEPARATOR.join(wording[k] for k in name)


def _distinct(chosen: list[list[str]], ranked: list[list[Ranked]], wording: dict[str, str]) -> list[str]:
    """Names made unique: a name already taken (by a bigger cluster) gets the cluster's next phrase.
    ``wording``: each phrase key's most frequent wording (ties: alphabetical)."""
    taken: set[str] = set()
    out = []
    for name, options in zip(chosen, ranked, strict=True):
        label = _render(name, wording)
        spare = [p for p, _, _ in options[:NAME_FROM] if p not in name]
        while label in taken and spare:
            longer = [p for p in spare if f" {name[-1]} " in f" {p} "]
            if longer:  # "direct debit" taken: "direct debit payment", not "direct debit / direct debit …"
                spare.remove(longer[0])
                name = [*name[:-1], longer[0]]
            else:
                name = [*name, spare.pop(0)]
            label = _render(name, wording)
        if label in taken:
            label = f"{label} ({sum(1 for t in taken if t.startswith(label)) + 1})"
        taken.add(label)
        out.append(label)
    return out
