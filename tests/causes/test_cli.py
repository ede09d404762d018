"""The CSV commands (no database) and the taxonomy and analyze commands."""

from __future__ import annotations

import csv
from pathlib import Path

from click.testing import CliRunner

from feedback.cli import main
from tests.causes.corpus import labelled

TAXONOMY = """
[[causes]]
id = "late-delivery"
name = "Late delivery"
department = "logistics"
keywords = ["late", "delayed parcel"]

[[causes]]
id = "double-charge"
name = "Charged twice"
department = "billing"
keywords = ["charged twice", "double charge", "duplicate charge"]
"""


def _write(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as src:
        return list(csv.DictReader(src))


def test_discover_writes_the_input_back_with_a_cause_per_row(tmp_path: Path) -> None:
    pairs = [*labelled({"late": 8, "charge": 8, "crash": 8}), ("none", "the colour of the box was odd")]
    rows = [{"id": str(i), "comment": text, "topic": topic} for i, (topic, text) in enumerate(pairs)]
    rows.append({"id": "empty", "comment": "", "topic": "none"})
    _write(tmp_path / "in.csv", rows)
    result = CliRunner().invoke(main, [
        "causes", "discover", "--input", str(tmp_path / "in.csv"), "--text-column", "comment",
        "--output", str(tmp_path / "out.csv"), "--engine", "default",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    out = _read(tmp_path / "out.csv")
    assert [r["id"] for r in out] == [r["id"] for r in rows]  # every row, in order, columns kept
    assert list(out[0]) == ["id", "comment", "topic", "cause_id", "cause_label"]
    by_topic: dict[str, set[str]] = {}
    for row in out:
        by_topic.setdefault(row["topic"], set()).add(row["cause_id"])
    assert by_topic["none"] == {""}
    for topic in ("late", "charge", "crash"):
        assert len(by_topic[topic]) == 1 and "" not in by_topic[topic]
    assert any("crash" in r["cause_label"] for r in out)


def test_assign_adds_cause_department_and_confidence(tmp_path: Path) -> None:
    (tmp_path / "taxonomy.toml").write_text(TAXONOMY)
    pairs = [*labelled({"late": 5, "charge": 5}), ("none", "the app crashes at login")]
    _write(tmp_path / "in.csv", [{"text": t, "topic": topic} for topic, t in pairs])
    result = CliRunner().invoke(main, [
        "causes", "assign", "--taxonomy", str(tmp_path / "taxonomy.toml"),
        "--input", str(tmp_path / "in.csv"), "--text-column", "text",
        "--output", str(tmp_path / "out.csv"), "--engine", "default",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    out = _read(tmp_path / "out.csv")
    expected = {
        "late": ("late-delivery", "logistics"),
        "charge": ("double-charge", "billing"),
        "none": ("", ""),
    }
    assert [(r["cause_id"], r["department"]) for r in out] == [expected[r["topic"]] for r in out]
    assert all(0 <= float(r["confidence"]) <= 1 for r in out)


def test_a_missing_column_is_a_readable_error(tmp_path: Path) -> None:
    _write(tmp_path / "in.csv", [{"text": "hello"}])
    result = CliRunner().invoke(main, [
        "causes", "discover", "--input", str(tmp_path / "in.csv"), "--text-column", "comment",
        "--output", str(tmp_path / "out.csv"),
    ])  # fmt: skip
    assert result.exit_code == 1 and "no column 'comment'" in result.output
    assert not (tmp_path / "out.csv").exists()


def test_taxonomy_load_and_analyze_from_the_command_line(tmp_path: Path, monkeypatch: object) -> None:
    import pytest

    assert isinstance(monkeypatch, pytest.MonkeyPatch)
    monkeypatch.setenv("FEEDBACK_DATABASE_URL", f"sqlite:///{tmp_path / 'f.db'}")
    monkeypatch.setenv("FEEDBACK_CAUSES_ENGINE", "default")
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
    for slug in ("logistics", "billing"):
        assert runner.invoke(main, ["departments", "add", slug, slug.title()]).exit_code == 0
    (tmp_path / "taxonomy.toml").write_text(TAXONOMY)
    loaded = runner.invoke(main, ["causes", "taxonomy", "load", str(tmp_path / "taxonomy.toml")])
    assert loaded.exit_code == 0 and "2 created" in loaded.output
    again = runner.invoke(main, ["causes", "taxonomy", "load", str(tmp_path / "taxonomy.toml")])
    assert "2 unchanged" in again.output
    analyzed = runner.invoke(main, ["analyze"])
    assert analyzed.exit_code == 0, analyzed.output
    assert "complete" in analyzed.output and "reading feedback" in analyzed.output
    assert "negative comments fit no repeated cause (coverage" in analyzed.output
    fixed = runner.invoke(main, ["analyze", "--resolution", "3", "--neighbours", "7", "--margin", "0"])
    assert fixed.exit_code == 0, fixed.output
    from sqlalchemy import create_engine, text

    with create_engine(f"sqlite:///{tmp_path / 'f.db'}").connect() as db:
        params = db.execute(text("SELECT params FROM analysis_runs ORDER BY id DESC LIMIT 1")).scalar_one()
    assert '"resolution": 3.0' in params and '"neighbours": 7' in params and '"margin": 0.0' in params
    first_order = runner.invoke(main, ["analyze", "--first-order"])
    assert first_order.exit_code == 0, first_order.output
    with create_engine(f"sqlite:///{tmp_path / 'f.db'}").connect() as db:
        params = db.execute(text("SELECT params FROM analysis_runs ORDER BY id DESC LIMIT 1")).scalar_one()
    assert '"second_order": false' in params
    monkeypatch.setenv("FEEDBACK_CAUSES_SECOND_ORDER", "maybe")
    refused = runner.invoke(main, ["analyze"])
    assert refused.exit_code != 0
    assert "FEEDBACK_CAUSES_SECOND_ORDER" in str(refused.exception or refused.output)
    monkeypatch.delenv("FEEDBACK_CAUSES_SECOND_ORDER")
    bad = runner.invoke(main, ["analyze", "--resolution", "x"])
    assert bad.exit_code == 2 and "--resolution" in bad.output
