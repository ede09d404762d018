"""Labelled evaluation sets for root-cause discovery, their tuning/held-out split, and cached embeddings.

Sets (from ../shared/data; labels are read here and by the scores only, never by an engine):

- ``banking-tune``: 3,000 BANKING77 train requests (a fixed seeded draw), the rows settings were tuned on;
- ``banking-heldout``: the other 7,003 requests, 77 intents;
- ``banking-small``: 1,000 held-out requests of 60 intents (a small input with many problems);
- ``banking-few``: the held-out requests of 10 intents (few problems);
- ``cfpb``: the 1,532 CFPB complaints with a narrative, labelled by their ``Issue`` (63 of them);
- ``clothing``: the 2,370 clothing reviews rated 1-2 with text, labelled by the garment class (18);
- ``cfpb-tune`` / ``cfpb-heldout``, ``clothing-tune`` / ``clothing-heldout``: each set's rows split in two
  halves by a fixed seed (long texts to tune on, and the half the tuning never saw).

Embeddings (all-MiniLM-L6-v2 of the normalised text, what the engine embeds) are cached per set and model in
bench/results/embeddings/ (gitignored), so tuning runs never embed twice.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from feedback.analysis.causes.features import normalize_text

HERE = Path(__file__).parent
# ../shared/data beside the repository (a worktree may sit one level deeper: the nearest one up is taken).
DATA = next(
    (p / "shared" / "data" for p in HERE.resolve().parents if (p / "shared" / "data").is_dir()),
    HERE.parent.parent / "shared" / "data",
)
CACHE = HERE / "results" / "embeddings"
SETS = ("banking-tune", "banking-heldout", "banking-small", "banking-few", "cfpb", "clothing")
HALVES = ("cfpb-tune", "cfpb-heldout", "clothing-tune", "clothing-heldout")
HALF_SEED = 14
TUNE_SIZE = 3_000


@dataclass(frozen=True)
class EvalSet:
    name: str
    texts: list[str]
    truth: list[str]


def _banking() -> tuple[list[dict[str, str]], list[int], list[int]]:
    with (DATA / "banking77" / "train.csv").open(newline="", encoding="utf-8") as src:
        rows = list(csv.DictReader(src))
    order = list(range(len(rows)))
    random.Random(77).shuffle(order)
    return rows, sorted(order[:TUNE_SIZE]), sorted(order[TUNE_SIZE:])


def halve(data: EvalSet, part: str) -> EvalSet:
    """The ``tune`` or ``heldout`` half of ``data``'s rows (a fixed seeded draw, rows in their order)."""
    order = list(range(len(data.texts)))
    random.Random(HALF_SEED).shuffle(order)
    chosen = sorted(order[: len(order) // 2] if part == "tune" else order[len(order) // 2 :])
    name = f"{data.name}-{part}"
    return EvalSet(name, [data.texts[i] for i in chosen], [data.truth[i] for i in chosen])


def load(name: str) -> EvalSet:
    if name in HALVES:
        whole, part = name.rsplit("-", 1)
        return halve(load(whole), part)
    if name.startswith("banking"):
        rows, tune, heldout = _banking()
        if name == "banking-tune":
            chosen = tune
        elif name == "banking-heldout":
            chosen = heldout
        else:
            categories = sorted({rows[i]["category"] for i in heldout})
            few = name == "banking-few"
            kept = set(random.Random(10 if few else 60).sample(categories, 10 if few else 60))
            pool = [i for i in heldout if rows[i]["category"] in kept]
            chosen = pool if few else sorted(random.Random(1000).sample(pool, 1_000))
        return EvalSet(name, [rows[i]["text"] for i in chosen], [rows[i]["category"] for i in chosen])
    if name == "cfpb":
        with (DATA / "cfpb" / "complaints_sample.csv").open(newline="", encoding="utf-8") as src:
            found = [r for r in csv.DictReader(src) if r["Consumer complaint narrative"].strip()]
        return EvalSet(name, [r["Consumer complaint narrative"] for r in found], [r["Issue"] for r in found])
    if name == "clothing":
        with (DATA / "clothing_reviews" / "reviews.csv").open(newline="", encoding="utf-8") as src:
            found = [r for r in csv.DictReader(src) if r["Review Text"].strip() and int(r["Rating"]) <= 2]
        return EvalSet(name, [r["Review Text"] for r in found], [r["Class Name"] for r in found])
    raise ValueError(f"unknown set {name!r} (choose from {', '.join(SETS + HALVES)})")


def vectors_of(data: EvalSet, model: str = "minilm") -> np.ndarray:
    """One cached vector per text of ``data`` (the BANKING77 sets share the tune and held-out caches)."""
    sources = ("banking-tune", "banking-heldout") if data.name.startswith("banking") else (data.name,)
    if data.name in HALVES:
        sources = (data.name.rsplit("-", 1)[0],)
    table: dict[str, np.ndarray] = {}
    for source in sources:
        table |= cached_vectors(source, load(source).texts, model, ENCODERS[model])
    return np.stack([table[normalize_text(t)] for t in data.texts])


def cached_vectors(
    name: str, texts: Sequence[str], model: str, encode: Callable[[list[str]], np.ndarray]
) -> dict[str, np.ndarray]:
    """Normalised text -> unit vector for ``texts``, from bench/results/embeddings/ or encoded once."""
    distinct = sorted({normalize_text(t) for t in texts})
    path = CACHE / f"{name}.{model}.npy"
    if path.exists():
        vectors = np.load(path)
    else:
        vectors = np.asarray(encode(distinct), dtype=np.float32)
        CACHE.mkdir(parents=True, exist_ok=True)
        np.save(path, vectors)
    return dict(zip(distinct, vectors, strict=True))


def minilm_encode(texts: list[str]) -> np.ndarray:
    from feedback.analysis.causes.engines import EmbeddingSpace

    return EmbeddingSpace(64).dense(texts)


ENCODERS: dict[str, Callable[[list[str]], np.ndarray]] = {"minilm": minilm_encode}


if __name__ == "__main__":
    import time

    for set_name in SETS:
        started = time.perf_counter()
        data = load(set_name)
        vectors = vectors_of(data)
        labels = len(set(data.truth))
        print(
            f"{set_name}: {len(data.texts)} texts, {labels} labels, {vectors.shape}, "
            f"{time.perf_counter() - started:.1f}s",
            flush=True,
        )
