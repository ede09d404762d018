"""Discovery picks its granularity from the data, leaves what fits nowhere out, names causes by phrases."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import adjusted_mutual_info_score, adjusted_rand_score

from feedback.analysis.causes.discover import DiscoverParams, discover_in, drop_outliers, second_order
from feedback.analysis.causes.engines import DefaultEngine
from feedback.analysis.causes.features import canonicalize
from feedback.analysis.causes.label import phrase_labels
from feedback.analysis.causes.pipeline import CauseParams, run_batch
from tests.causes.corpus import labelled
from tests.causes.corpus import texts as corpus_texts

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


def _blobs(groups: int, per_group: int, spread: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors around ``groups`` random directions (64 dimensions), with their true group."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(groups, 64))
    truth = np.repeat(np.arange(groups), per_group)
    vectors = centres[truth] / np.linalg.norm(centres[truth], axis=1, keepdims=True)
    vectors = vectors + rng.normal(scale=spread, size=vectors.shape)
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32), truth


def _discover(vectors: np.ndarray, params: DiscoverParams) -> np.ndarray:
    canonical = canonicalize([f"text {i:06d}" for i in range(len(vectors))])  # already in canonical order
    return discover_in(canonical, vectors, params).labels


@pytest.mark.parametrize(("groups", "per_group"), [(60, 17), (4, 400)])
def test_the_number_of_clusters_follows_the_data_not_its_size(groups: int, per_group: int) -> None:
    # Many small problems in a small input, and a few big ones in a larger one: both come out right.
    vectors, truth = _blobs(groups, per_group, spread=0.09)
    labels = _discover(vectors, CauseParams().discover_params("embeddings"))  # what a run uses
    assert len(set(labels[labels >= 0].tolist())) == groups
    assert adjusted_rand_score(truth, labels) > 0.9


def test_a_fixed_resolution_skips_the_automatic_choice() -> None:
    vectors, _ = _blobs(4, 400, spread=0.09)
    fine = _discover(vectors, DiscoverParams(resolution=64.0))
    assert len(set(fine[fine >= 0].tolist())) > 4


def test_reordered_rows_give_the_same_clusters() -> None:
    pairs = labelled({"late": 12, "charge": 12, "crash": 12, "rude": 12})
    texts = [t for _, t in pairs]
    first = run_batch(texts, [], DefaultEngine(), CauseParams())
    order = np.random.default_rng(3).permutation(len(texts))
    again = run_batch([texts[i] for i in order], [], DefaultEngine(), CauseParams())
    back = np.empty(len(texts), dtype=np.int64)
    back[order] = again.cluster_of_row
    assert np.array_equal(first.cluster_of_row, back)


def test_a_text_that_fits_no_cluster_is_left_out_and_counted() -> None:
    odd = ["the colour of the box was odd", "music on hold is too loud", "your logo looks different now"]
    texts = [t for _, t in labelled({"late": 10, "charge": 10, "crash": 10})] + odd
    result = run_batch(texts, [], DefaultEngine(), CauseParams())
    assert (result.cluster_of_row[-3:] == -1).all()
    assert result.unexplained == int((result.cluster_of_row == -1).sum()) >= 3
    assert all(0 < c.cohesion <= 1 for c in result.clusters)


def _named(groups: list[list[str]]) -> list[str]:
    texts = [t for group in groups for t in group]
    labels = np.repeat(np.arange(len(groups)), [len(g) for g in groups]).astype(np.int64)
    return phrase_labels(texts, labels, np.ones(len(texts), dtype=np.int64), len(groups))


def test_names_are_phrases_that_keep_the_negation() -> None:
    not_received = [f"I have not received my card, ordered {n} weeks ago" for n in range(2, 9)]
    not_received += [f"still haven't received my card after {n} days" for n in range(5, 12)]
    received = [f"I have received my card but it is {w}" for w in ("bent", "scratched", "blank", "broken")]
    received += [f"I received my card today and the chip is {w}" for w in ("cracked", "loose", "dead")]
    charged = [f"charged twice for one transfer of {n} euros" for n in range(10, 20)]
    names = _named([not_received, received, charged])
    assert len(set(names)) == 3
    assert "not received" in names[0]
    assert "not" not in names[1] and "received" in names[1]
    assert "charged twice" in names[2]


def test_names_drop_handles_links_and_hashtags() -> None:
    tweets = [
        f"@JetBlue flight {n} delayed again, no crew on board http://t.co/x{n} #jetblue" for n in range(12)
    ] + [f"@JetBlue my bag was lost on flight {n} #fail https://t.co/y{n}" for n in range(12)]
    names = _named([tweets[:12], tweets[12:]])
    for name in names:
        assert "jetblue" not in name and "http" not in name and "t co" not in name and "fail" not in name
    assert "delayed" in names[0] and "lost" in names[1]


def test_the_resolution_is_judged_on_a_sample_of_scan_size_texts() -> None:
    # 1,600 texts judged on 400 of them: the same four groups come out, every text in one of them.
    vectors, truth = _blobs(4, 400, spread=0.09)
    params = DiscoverParams(scan_size=400)
    labels = _discover(vectors, params)
    assert len(set(labels[labels >= 0].tolist())) == 4
    assert adjusted_rand_score(truth, labels) > 0.9


def test_the_silhouette_tolerance_is_the_engines_unless_given() -> None:
    assert CauseParams().discover_params("embeddings").tolerance == 0.0
    assert CauseParams().discover_params("default").tolerance == 0.1
    assert CauseParams(tolerance=0.05, scan_size=300).discover_params("embeddings").tolerance == 0.05
    assert CauseParams(scan_size=300).discover_params("default").scan_size == 300


def test_real_requests_of_twenty_problems_are_not_split_by_each_wording() -> None:
    # Up to forty real bank requests for each of 20 problems (BANKING77). Word-count vectors score ever finer
    # splits of a problem by its wordings a little higher; judged against an absolute tolerance, that chose
    # 70 clusters (AMI 0.61). Judged as a share of the best silhouette: 48 clusters, AMI 0.67.
    by_problem: dict[str, list[str]] = defaultdict(list)
    with (DATA / "banking77" / "train.csv").open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            by_problem[row["category"]].append(row["text"])
    problems = sorted(by_problem)[::4]
    assert len(problems) == 20, "the shared data sets are missing"
    texts = [text for problem in problems for text in by_problem[problem][:40]]
    truth = [problem for problem in problems for _ in by_problem[problem][:40]]
    result = run_batch(texts, [], DefaultEngine(), CauseParams())
    assert len(result.clusters) < 2.5 * len(problems)
    assert adjusted_mutual_info_score(truth, result.cluster_of_row) > 0.65


def test_on_a_few_dozen_texts_a_finer_split_must_beat_chance_to_be_chosen() -> None:
    # 14 texts of one cause worded five ways and 8 of another: the silhouette of a split of the first by its
    # wordings is a little higher, by less than its standard error on 22 texts, so the cause stays whole.
    texts = corpus_texts("rude", 14) + corpus_texts("late", 8)
    result = run_batch(texts, [], DefaultEngine(), CauseParams(min_size=5))
    assert sorted(c.size for c in result.clusters) == [8, 14]
    assert CauseParams().discover_params("default").standard_errors == 1
    assert CauseParams(tolerance=0.01).discover_params("default").standard_errors == 0  # exactly as given


def test_linking_similarity_profiles_recovers_groups_that_noisy_wordings_blur() -> None:
    # Eight problems, each worded with a lot of noise: texts of one group resemble the same texts even where
    # they resemble each other little, so linking their similarity profiles finds the groups again.
    vectors, truth = _blobs(8, 100, spread=0.25)
    plain = _discover(vectors, DiscoverParams(tolerance=0.1))
    linked = _discover(vectors, DiscoverParams(tolerance=0.1, second_order=True))
    assert adjusted_rand_score(truth, linked) > 0.9
    assert adjusted_rand_score(truth, linked) > adjusted_rand_score(truth, plain) + 0.05
    assert CauseParams().discover_params("default").second_order  # the TF-IDF engine links profiles
    assert not CauseParams().discover_params("embeddings").second_order
    assert not CauseParams(second_order=False).discover_params("default").second_order


def test_a_misplaced_text_moves_to_the_cluster_it_fits_and_one_between_stays_out() -> None:
    rng = np.random.default_rng(0)
    axes = np.eye(64, dtype=np.float32)
    group_a = axes[0] + rng.normal(scale=0.05, size=(20, 64))
    group_b = axes[1] + rng.normal(scale=0.05, size=(20, 64))
    misplaced = axes[1]  # a B text that community detection put in A
    between = 0.3 * axes[0] + 0.5 * axes[1] + axes[2]  # nearer B than A, but nowhere near B's members
    vectors = np.vstack([group_a, group_b, misplaced, between]).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    labels = np.array([0] * 20 + [1] * 20 + [0, 0], dtype=np.int64)
    out = drop_outliers(vectors, labels, np.ones(len(labels), dtype=np.int64), DiscoverParams())
    assert out[40] == 1  # moved to B, not left out
    assert out[41] > 1  # a cluster of its own: left out
    assert (out[:40] == labels[:40]).all()


def test_a_similarity_profile_compares_texts_by_the_texts_they_resemble() -> None:
    vectors, _ = _blobs(5, 40, spread=0.3)
    similarity = vectors @ vectors.T  # row i: text i's cosine to every text
    rows = similarity / np.linalg.norm(similarity, axis=1, keepdims=True)
    profiles = second_order(vectors)
    assert np.allclose(profiles @ profiles.T, rows @ rows.T, atol=1e-4)
    assert np.allclose(np.linalg.norm(profiles, axis=1), 1, atol=1e-5)
