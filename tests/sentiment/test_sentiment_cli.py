"""`feedback sentiment fit` and `score` on CSV files, without a database."""

from __future__ import annotations

import csv
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from feedback.cli import main
from tests.sentiment.corpus import comments


def run(*args: str, ok: bool = True):  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert (result.exit_code == 0) == ok, result.output
    return result


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_fit_then_score_round_trip(tmp_path: Path) -> None:
    scored = write_csv(
        tmp_path / "scored.csv",
        ["id", "comment", "nps"],
        [[i, text, score] for i, (text, score) in enumerate(comments(300))] + [[999, "", 5]],
    )
    model = tmp_path / "model.joblib"
    fitted = run(
        "sentiment",
        "fit",
        "--input",
        str(scored),
        "--text-column",
        "comment",
        "--score-column",
        "nps",
        "--scale",
        "nps",
        "--model",
        str(model),
        "--min-rows",
        "50",
    )
    assert "300 texts (100 dissatisfied)" in fitted.output and "1 rows skipped" in fitted.output
    texts = write_csv(
        tmp_path / "texts.csv",
        ["ref", "body"],
        [
            ["a", "They hung up on me and I was charged twice."],
            ["b", "Friendly and patient help."],
            ["c", ""],
        ],
    )
    out = tmp_path / "out.csv"
    run(
        "sentiment",
        "score",
        "--model",
        str(model),
        "--input",
        str(texts),
        "--text-column",
        "body",
        "--output",
        str(out),
    )
    frame = pl.read_csv(out)
    assert frame.columns == ["ref", "body", "dissatisfied_probability", "dissatisfied", "polarity"]
    assert frame["ref"].to_list() == ["a", "b", "c"]
    assert frame["dissatisfied"].to_list()[:2] == [True, False]
    assert 0 <= frame["dissatisfied_probability"].min() <= frame["dissatisfied_probability"].max() <= 1


def test_score_without_a_model_uses_textblob(tmp_path: Path) -> None:
    texts = write_csv(
        tmp_path / "texts.csv", ["text"], [["Terrible, awful service."], ["A wonderful experience!"]]
    )
    out = tmp_path / "out.csv"
    assert (
        "(textblob)"
        in run(
            "sentiment", "score", "--input", str(texts), "--text-column", "text", "--output", str(out)
        ).output
    )
    frame = pl.read_csv(out)
    assert frame["dissatisfied"].to_list() == [True, False]
    assert frame["polarity"][0] < 0 < frame["polarity"][1]
    assert frame["dissatisfied_probability"][0] > 0.5 > frame["dissatisfied_probability"][1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--text-column", "nope"], "has no column 'nope'"),
        (["--score-column", "nope"], "has no column 'nope'"),
        (["--min-rows", "1000"], "fewer than 1000"),
    ],
)
def test_fit_explains_what_is_wrong(tmp_path: Path, args: list[str], message: str) -> None:
    scored = write_csv(tmp_path / "scored.csv", ["comment", "nps"], [[t, s] for t, s in comments(60)])
    base = {"--text-column": "comment", "--score-column": "nps", "--min-rows": "10"}
    base.update(dict(zip(args[::2], args[1::2], strict=True)))
    flat = [x for pair in base.items() for x in pair]
    result = run(
        "sentiment",
        "fit",
        "--input",
        str(scored),
        "--scale",
        "nps",
        "--model",
        str(tmp_path / "m"),
        *flat,
        ok=False,
    )
    assert message in result.output


def test_fit_takes_where_dissatisfied_starts_from_the_settings_or_the_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows: list[list[object]] = [
        [text, (1 + i % 2) if score <= 6 else (4 + i % 2)] for i, (text, score) in enumerate(comments(300))
    ]
    rows += [[f"It was fine, nothing special, order {i}.", 3] for i in range(60)]  # CSAT 3: neutral
    scored = write_csv(tmp_path / "csat.csv", ["comment", "csat"], rows)
    args = ["sentiment", "fit", "--input", str(scored), "--text-column", "comment", "--score-column", "csat"]
    args += ["--scale", "csat", "--model", str(tmp_path / "m.joblib"), "--min-rows", "50"]
    assert "360 texts (100 dissatisfied)" in run(*args).output  # the industry default: CSAT 1-2
    assert "360 texts (160 dissatisfied)" in run(*args, "--dissatisfied-at-most", "3").output
    monkeypatch.setenv("FEEDBACK_CSAT_BANDS", "3,4")  # a company whose 3 means unhappy
    assert "360 texts (160 dissatisfied)" in run(*args).output
    refused = run(*args, "--dissatisfied-at-most", "5", ok=False)
    assert "dissatisfied_at_most" in refused.output
