"""How well does the learned dissatisfaction model read customer text, against TextBlob and a baseline?

1. Clothing reviews (../shared/data/clothing_reviews/reviews.csv): Rating 1-5 taken as CSAT, Review Text as
   the comment. A stratified 80/20 split (fixed seed): the model learns on 80% and is judged on the held-out
   20%, against TextBlob alone (dissatisfied = polarity < 0) and against always answering the majority class.
   Done for both labelings (dissatisfied = CSAT 1-3, the project's choice, and CSAT 1-2).
2. CFPB complaints (../shared/data/cfpb): narratives with no score. Accuracy cannot be measured; every
   complaint is dissatisfied by nature, so the share each method calls dissatisfied is a recall-like figure
   (higher is better, but a method that calls everything dissatisfied would also score 100%). The model here
   is the one learned on clothing reviews: another domain.

    python bench/eval_sentiment.py                 # prints a markdown table
    python bench/eval_sentiment.py --json out.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import polars as pl
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score
from sklearn.model_selection import train_test_split

from feedback.analysis.dissatisfaction import DissatisfactionModel, fit_model, polarities

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def _scores(truth: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    return {
        "accuracy": float(accuracy_score(truth, predicted)),
        "balanced_accuracy": float(balanced_accuracy_score(truth, predicted)),
        "f1_dissatisfied": float(f1_score(truth, predicted, pos_label=True, zero_division=0)),
    }


def clothing(
    data: Path, at_most: int, seed: int
) -> tuple[dict[str, dict[str, float]], DissatisfactionModel, dict[str, float]]:
    frame = (
        pl.read_csv(data / "clothing_reviews" / "reviews.csv", infer_schema_length=0)
        .select(pl.col("Review Text").alias("text"), pl.col("Rating").cast(pl.Int64).alias("rating"))
        .filter(pl.col("text").is_not_null() & (pl.col("text").str.strip_chars() != ""))
    )
    texts = frame["text"].to_list()
    labels = (frame["rating"] <= at_most).to_numpy()
    train_x, test_x, train_y, test_y = train_test_split(
        texts, labels, test_size=0.2, random_state=seed, stratify=labels
    )
    started = time.perf_counter()
    model = fit_model(train_x, list(train_y), scale="csat", min_rows=200)
    fit_s = time.perf_counter() - started
    started = time.perf_counter()
    probability, polarity = model.score(test_x)
    score_s = time.perf_counter() - started
    learned = model.dissatisfied(probability, polarity)
    majority = np.full(len(test_y), bool(np.mean(train_y) >= 0.5))
    results = {
        "learned model": _scores(test_y, learned),
        "TextBlob polarity < 0": _scores(test_y, polarity < 0),
        "majority class": _scores(test_y, majority),
    }
    info = {
        "rows": len(texts),
        "train": len(train_x),
        "test": len(test_x),
        "dissatisfied_share": float(np.mean(labels)),
        "fit_s": fit_s,
        "score_texts_per_s": len(test_x) / score_s,
    }
    return results, model, info


def cfpb(data: Path, model: DissatisfactionModel) -> dict[str, float]:
    frame = pl.read_csv(data / "cfpb" / "complaints_sample.csv", infer_schema_length=0)
    texts = frame["Consumer complaint narrative"].drop_nulls().to_list()
    probability, polarity = model.score(texts)
    return {
        "narratives": len(texts),
        "learned model (trained on clothing reviews)": float(
            np.mean(model.dissatisfied(probability, polarity))
        ),
        "TextBlob polarity < 0": float(np.mean(polarities(texts) < 0)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    report: dict[str, object] = {}
    model_1_3: DissatisfactionModel | None = None
    for at_most in (3, 2):
        results, model, info = clothing(args.data, at_most, args.seed)
        if at_most == 3:
            model_1_3 = model
        report[f"clothing, dissatisfied = CSAT 1-{at_most}"] = {"info": info, "results": results}
        print(
            f"\n### Clothing reviews, dissatisfied = rating 1-{at_most} "
            f"({info['test']:,} held-out of {info['rows']:,}; {info['dissatisfied_share']:.1%} dissatisfied; "
            f"fit {info['fit_s']:.0f} s, scoring {info['score_texts_per_s']:,.0f} texts/s)\n"
        )
        print("| method | accuracy | balanced accuracy | F1 (dissatisfied) |\n|---|---|---|---|")
        for name, s in results.items():
            print(
                f"| {name} | {s['accuracy']:.3f} | {s['balanced_accuracy']:.3f} "
                f"| {s['f1_dissatisfied']:.3f} |"
            )
    assert model_1_3 is not None
    shares = cfpb(args.data, model_1_3)
    report["cfpb"] = shares
    print(
        f"\n### CFPB complaint narratives ({shares['narratives']:,}, no score; all dissatisfied by nature)\n"
    )
    print("| method | share called dissatisfied |\n|---|---|")
    for name, value in shares.items():
        if name != "narratives":
            print(f"| {name} | {value:.1%} |")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
