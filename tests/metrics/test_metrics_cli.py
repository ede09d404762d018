"""`feedback metrics show` and `feedback targets` as a person runs them; output files read back."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from feedback.cli import main
from tests import factories
from tests.metrics.data import at, store


@pytest.fixture
def cli(database_url: str, sessions, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("FEEDBACK_DATABASE_URL", database_url)
    factories.survey(sessions)
    store(
        sessions,
        [
            {"at": at("2026-10-05 10:00"), "answers": {"nps": n}, "context": {"channel": "phone"}}
            for n in (10, 10, 9, 3)
        ],
    )
    runner = CliRunner()

    def run(*args: str, ok: bool = True):  # type: ignore[no-untyped-def]
        result = runner.invoke(main, list(args), catch_exceptions=False)
        assert (result.exit_code == 0) == ok, result.output
        return result

    return run


WINDOW = ("--since", "2026-10-01", "--until", "2026-11-01")


def test_metrics_show_prints_a_readable_table(cli) -> None:  # type: ignore[no-untyped-def]
    cli("targets", "set", "nps", "department", "support", "60")
    shown = cli("metrics", "show", "--metric", "nps,volume", "--by", "channel", "--period", "week", *WINDOW)
    lines = shown.output.splitlines()
    assert any(line.startswith("period") and "channel" in line and "95% interval" in line for line in lines)
    assert any("2026-10-05" in line and "phone" in line and "+50*" in line for line in lines)
    assert "fewer than 30 answers" in shown.output
    by_department = cli("metrics", "show", "--metric", "nps", "--by", "department", *WINDOW)
    assert "60 (missed)" in by_department.output
    assert "nps" in cli("targets", "list").output
    cli("targets", "delete", "nps", "department", "support")
    assert "no nps target" in cli("targets", "delete", "nps", "department", "support", ok=False).output


def test_metrics_output_files_read_back(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    for name in ("out.csv", "out.parquet"):
        path = tmp_path / name
        cli("metrics", "show", "--metric", "nps", "--by", "channel", *WINDOW, "--output", str(path))
        frame = pl.read_csv(path) if name.endswith(".csv") else pl.read_parquet(path)
        row = frame.filter(pl.col("metric") == "nps").row(0, named=True)
        assert (row["channel"], row["value"], row["n"], row["small_sample"]) == ("phone", 50.0, 4, True)
        assert {"low", "high", "previous", "change", "target", "target_met"} <= set(frame.columns)
    assert (
        "must end in .csv or .parquet"
        in cli("metrics", "show", "--output", str(tmp_path / "x.txt"), ok=False).output
    )


def test_metrics_drivers_prints_readings(cli) -> None:  # type: ignore[no-untyped-def]
    shown = cli("metrics", "drivers", "--metric", "nps", "--driver", "channel", "--min-n", "2", *WINDOW)
    assert "phone" in shown.output and "+50" in shown.output
