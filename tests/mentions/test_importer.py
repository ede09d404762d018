"""`feedback mentions import`: a column mapping, streamed, rejected rows by line, each row stored once."""

from __future__ import annotations

import csv
import gc
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from feedback.cli import main
from feedback.models import Mention

ROOT = Path(__file__).resolve().parents[2]
CFPB = ROOT.parent / "shared" / "data" / "cfpb" / "complaints_sample.csv"
CFPB_MAP = [
    "--map",
    "text=Consumer complaint narrative",
    "--map",
    "source_id=Complaint ID",
    "--map",
    "posted_at=Date received",
    "--map",
    "product=Product",
]


@pytest.fixture
def cli(database_url: str, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("FEEDBACK_DATABASE_URL", database_url)
    monkeypatch.delenv("FEEDBACK_MENTION_RULES_FILE", raising=False)
    runner = CliRunner()

    def run(*args: str, ok: bool = True):  # type: ignore[no-untyped-def]
        result = runner.invoke(main, list(args), catch_exceptions=False)
        assert (result.exit_code == 0) == ok, result.output
        return result

    return run


def rows_by_id(sessions) -> dict[str, Mention]:  # type: ignore[no-untyped-def]
    with sessions() as session:
        return {m.source_id: m for m in session.scalars(select(Mention))}


def count(sessions) -> int:  # type: ignore[no-untyped-def]
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(Mention)) or 0)


def test_the_real_cfpb_export_imports_with_a_mapping_only(cli, sessions) -> None:
    assert CFPB.is_file(), f"the CFPB sample is missing at {CFPB} (shared/data beside the repository)"
    with CFPB.open(newline="", encoding="utf-8-sig") as f:
        expected = {
            r["Complaint ID"]: r for r in csv.DictReader(f) if r["Consumer complaint narrative"].strip()
        }
    first = cli("mentions", "import", str(CFPB), "--source", "cfpb", *CFPB_MAP)
    assert "6623 rows: 1532 stored, 0 already stored, 5091 skipped (no text), 0 rejected" in first.output
    stored = rows_by_id(sessions)
    assert set(stored) == set(expected)
    some_id = sorted(expected)[0]
    row, source = stored[some_id], expected[some_id]
    assert row.source == "cfpb" and row.via == "import" and row.product == source["Product"]
    assert row.text == source["Consumer complaint narrative"]
    assert row.posted_at.date().isoformat() == source["Date received"]
    assert all(m.analyzer and m.polarity is not None for m in stored.values())
    again = cli("mentions", "import", str(CFPB), "--source", "cfpb", *CFPB_MAP)
    assert "0 stored, 1532 already stored, 5091 skipped (no text)" in again.output
    assert count(sessions) == 1532


def test_a_mapping_file_and_json_lines(cli, sessions, tmp_path: Path) -> None:
    mapping = tmp_path / "reviews.toml"
    mapping.write_text(
        'source = "appstore"\n[map]\ntext = "review"\nsource_id = "id"\nposted_at = "date"\n'
        'author = "user"\nlikes = "helpful"\n'
    )
    data = tmp_path / "reviews.jsonl"
    data.write_text(
        "\n".join(
            json.dumps(r)
            for r in [
                {
                    "id": 11,
                    "review": "The app crashes every time I open my cart",
                    "date": "2026-11-01",
                    "user": "ann",
                    "helpful": 4,
                },
                {
                    "id": 12,
                    "review": "Five stars, delivery was quick and friendly",
                    "date": 1795000000,
                    "user": "bob",
                },
            ]
        )
        + "\n\n"
    )
    result = cli("mentions", "import", str(data), "--mapping", str(mapping))
    assert "2 rows: 2 stored" in result.output
    rows = rows_by_id(sessions)
    assert rows["11"].source == "appstore" and rows["11"].likes == 4 and rows["11"].author == "ann"
    assert rows["12"].posted_at.year == 2026 and rows["12"].polarity is not None and rows["12"].polarity > 0


def test_rejected_rows_are_reported_by_line_while_good_rows_are_stored(cli, sessions, tmp_path: Path) -> None:
    data = tmp_path / "export.csv"
    data.write_text(
        "id,posted,body,fans\n"  # line 1
        "1,2026-11-01T10:00:00Z,The courier left my parcel in the rain,12\n"  # line 2: good
        "2,not a date,Refund still not here after three weeks,5\n"  # line 3: bad date
        '3,2026-11-02,"A complaint\nover two lines, all good",7\n'  # lines 4-5: good
        "4,2026-11-02,Support hung up on me twice,-3\n"  # line 6: negative count
        ",2026-11-03,No id on this one at all,1\n"  # line 7: no id
        "5,2026-11-03,,1\n"  # line 8: no text: skipped
        "6,2026-11-03,too,many,values\n"  # line 9: wrong width
        "7,2026-11-04,Checkout failed again with my saved card,0\n"  # line 10: good
    )
    rejects = tmp_path / "rejects.csv"
    result = cli(
        "mentions",
        "import",
        str(data),
        "--source",
        "reddit",
        "--map",
        "source_id=id",
        "--map",
        "posted_at=posted",
        "--map",
        "text=body",
        "--map",
        "followers=fans",
        "--rejects",
        str(rejects),
    )
    assert "8 rows: 3 stored, 0 already stored, 1 skipped (no text), 4 rejected" in result.output
    assert set(rows_by_id(sessions)) == {"1", "3", "7"}
    assert rows_by_id(sessions)["3"].text == "A complaint\nover two lines, all good"
    reported = list(csv.DictReader(rejects.open()))
    assert [(r["line"], r["field"]) for r in reported] == [
        ("3", "posted_at"),
        ("6", "followers"),
        ("7", "source_id"),
        ("9", ""),
    ]
    assert "line 3: posted_at" in result.output and "line 9" in result.output


def test_a_value_too_long_for_csv_is_reported_by_line_and_the_rows_before_it_are_stored(
    cli, sessions, tmp_path: Path
) -> None:
    data = tmp_path / "export.csv"
    huge = "x" * 200_000  # beyond Python's csv field limit (131,072 characters)
    data.write_text(
        "id,posted,body\n"
        "1,2026-11-01T10:00:00Z,The courier left my parcel in the rain\n"
        f"2,2026-11-01T11:00:00Z,{huge}\n"
    )
    result = cli(
        "mentions", "import", str(data), "--source", "reddit",
        "--map", "source_id=id", "--map", "posted_at=posted", "--map", "text=body",
    )  # fmt: skip
    assert "Traceback" not in result.output
    assert "line 3" in result.output and "not readable as CSV" in result.output
    assert set(rows_by_id(sessions)) == {"1"}


def test_a_bad_mapping_is_refused_before_anything_is_stored(cli, sessions, tmp_path: Path) -> None:
    data = tmp_path / "x.csv"
    data.write_text("id,when,body\n1,2026-11-01,hello there friends\n")
    missing = cli(
        "mentions",
        "import",
        str(data),
        "--source",
        "x",
        "--map",
        "source_id=id",
        "--map",
        "text=body",
        ok=False,
    )
    assert "posted_at" in missing.output
    no_column = cli(
        "mentions",
        "import",
        str(data),
        "--source",
        "x",
        "--map",
        "source_id=id",
        "--map",
        "text=body",
        "--map",
        "posted_at=date",
        ok=False,
    )
    assert "line 1" in no_column.output and "'date'" in no_column.output
    unknown = cli(
        "mentions",
        "import",
        str(data),
        "--source",
        "x",
        "--map",
        "source_id=id",
        "--map",
        "text=body",
        "--map",
        "posted_at=when",
        "--map",
        "colour=body",
        ok=False,
    )
    assert "colour" in unknown.output
    assert count(sessions) == 0


def test_worker_processes_store_the_same_rows_as_one_process(cli, sessions, tmp_path: Path) -> None:
    data = synthetic_csv(tmp_path / "posts.csv", 1200)
    collector = (gc.get_threshold(), gc.get_freeze_count())
    result = cli(
        "mentions",
        "import",
        str(data),
        "--source",
        "twitter",
        *POSTS_MAP,
        "--workers",
        "2",
        "--chunk-size",
        "100",
    )
    assert "1200 rows: 1200 stored" in result.output
    rows = rows_by_id(sessions)
    assert len(rows) == 1200 and all(m.polarity is not None for m in rows.values())
    again = cli("mentions", "import", str(data), "--source", "twitter", *POSTS_MAP, "--workers", "0")
    assert "0 stored, 1200 already stored" in again.output
    assert (gc.get_threshold(), gc.get_freeze_count()) == collector  # the import tuned it for itself only


def test_a_chunk_prepared_in_pieces_by_workers_is_one_transaction(
    sessions, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from feedback.config import Settings
    from feedback.mentions import importer
    from feedback.mentions.rules import IngestOptions

    monkeypatch.setattr(importer, "PIECE_ROWS", 70)  # each chunk of 300 rows: 5 pieces, the last one short
    data = synthetic_csv(tmp_path / "posts.csv", 1000)
    mapping = dict(pair.split("=") for pair in POSTS_MAP[1::2])
    stream, records = importer.open_records(data, "csv", mapping)
    committed: list[tuple[int, int]] = []  # (rows read, rows in the database) after each commit
    with stream:
        report = importer.import_mentions(
            sessions,
            records,
            IngestOptions.from_settings(Settings()),
            "twitter",
            chunk_size=300,
            workers=2,
            on_chunk=lambda so_far: committed.append((so_far.rows, count(sessions))),
        )
    assert committed == [(300, 300), (600, 600), (900, 900), (1000, 1000)]  # whole chunks, in order
    assert report.stored == 1000 and set(rows_by_id(sessions)) == {str(i) for i in range(1000)}


def test_a_chunk_that_fails_to_store_stops_the_import_and_no_later_chunk_is_stored(
    sessions, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Workers prepare the next pieces meanwhile; nothing of them is stored once a chunk has failed."""
    from feedback.config import Settings
    from feedback.mentions import importer
    from feedback.mentions.rules import IngestOptions

    real_store = importer.store_mentions
    calls: list[int] = []

    def store_failing_the_second(*args: Any, **kwargs: Any) -> Any:
        calls.append(len(calls))
        if len(calls) == 2:
            raise RuntimeError("the database went away")
        return real_store(*args, **kwargs)

    monkeypatch.setattr(importer, "store_mentions", store_failing_the_second)
    data = synthetic_csv(tmp_path / "posts.csv", 1500)
    mapping = dict(pair.split("=") for pair in POSTS_MAP[1::2])
    stream, records = importer.open_records(data, "csv", mapping)
    with stream, pytest.raises(RuntimeError, match="went away"):
        importer.import_mentions(
            sessions, records, IngestOptions.from_settings(Settings()), "twitter", chunk_size=300, workers=2
        )
    assert calls == [0, 1]  # nothing was stored after the failing chunk
    assert set(rows_by_id(sessions)) == {str(i) for i in range(300)}


def test_the_importing_process_leaves_sentiment_to_its_workers(
    database_url: str, sessions, tmp_path: Path
) -> None:
    """Scoring loads textblob, nltk, scikit-learn and scipy (seconds of CPU): only the workers need them."""
    data = synthetic_csv(tmp_path / "posts.csv", 300)
    program = (
        "import sys; from feedback.cli import main\n"
        "try:\n    main(sys.argv[1:], standalone_mode=False)\n"
        "finally:\n    print('loaded:', sorted({'textblob', 'nltk'} & set(sys.modules)))"
    )
    command = [sys.executable, "-c", program, "mentions", "import", str(data), "--source", "twitter"]
    env: dict[str, Any] = {**os.environ, "FEEDBACK_DATABASE_URL": database_url}
    done = subprocess.run([*command, *POSTS_MAP, "--workers", "2"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "300 stored" in done.stdout and "loaded: []" in done.stdout
    stored = rows_by_id(sessions).values()
    assert all(m.polarity is not None and m.analyzer.startswith("textblob") for m in stored)


POSTS_MAP = ["--map", "source_id=id", "--map", "author=user", "--map", "posted_at=at", "--map", "text=text"]


def synthetic_csv(path: Path, rows: int) -> Path:
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "user", "at", "text"])
        for i in range(rows):
            writer.writerow(
                [
                    i,
                    f"user{i % 97}",
                    f"2026-10-{1 + i % 28:02d}T12:00:00Z",
                    f"Order {i} was late again and the support chat closed on me, number {i}",
                ]
            )
    return path


def test_an_import_killed_half_way_then_run_again_stores_each_row_once(
    database_url: str, sessions, tmp_path: Path
) -> None:
    total = 20_000
    data = synthetic_csv(tmp_path / "big.csv", total)
    command = [
        sys.executable,
        "-c",
        "from feedback.cli import main; main()",
        "mentions",
        "import",
        str(data),
        "--source",
        "twitter",
        *POSTS_MAP,
        "--chunk-size",
        "250",
        "--workers",
        "0",
    ]
    env: dict[str, Any] = {**os.environ, "FEEDBACK_DATABASE_URL": database_url}
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while count(sessions) == 0:  # the first chunk is committed
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the import never committed a chunk"
            time.sleep(0.005)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(30)
    at_kill = count(sessions)
    assert 0 < at_kill < total, f"{at_kill} rows at the kill: the import was not stopped half-way"
    assert at_kill % 250 == 0  # whole chunks only: each is one transaction
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert f"{total - at_kill} stored, {at_kill} already stored" in done.stdout
    with sessions() as session:
        ids = session.scalars(select(Mention.source_id)).all()
    assert len(ids) == total and set(ids) == {str(i) for i in range(total)}
