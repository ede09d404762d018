"""bench/run.py: bounded stages, failures shown and counted, and only the generated section rewritten."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import asdict
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

from bench_invitations import Result  # noqa: E402
from bench_mentions_import import Run  # noqa: E402
from bench_submissions import WrkResult  # noqa: E402
from run_plan import (  # noqa: E402
    BENCHMARKS,
    MILLION,
    Stage,
    invitation_rows,
    mention_rows,
    rows_for,
    submission_rows,
)
from run_report import BEGIN, END, replace_section  # noqa: E402
from run_stages import FAILED, OK, TIMED_OUT, Outcome  # noqa: E402

HAND_WRITTEN = (
    f"# Benchmarks\n\nIntro | with a pipe.\n\n{BEGIN}\nold table\n{END}\n\n## Root causes\n\nAnalysis.\n"
)


def _run_stage_in_child(tmp_path: Path, stage_command: list[str], timeout: float) -> dict[str, object]:
    """run_stage in a process of its own (it becomes a subreaper; the test process must not)."""
    script = textwrap.dedent(f"""
        import json, sys
        from pathlib import Path
        sys.path.insert(0, {str(BENCH)!r})
        from run_stages import become_subreaper, run_stage
        assert become_subreaper()
        tmp = Path({str(tmp_path)!r})
        outcome = run_stage("test", {stage_command!r}, {timeout}, tmp / "stage.log", tmp / "stage.json",
                            tmp, grace=1.0, heartbeat=0.5)
        print(json.dumps({{"status": outcome.status, "seconds": outcome.seconds, "detail": outcome.detail,
                          "data": outcome.data}}))
    """)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_stage_past_its_timeout_is_stopped_with_what_it_detached(tmp_path: Path) -> None:
    # The stage starts a process in a session of its own (as pg_ctl does with the postmaster) and hangs.
    pid_file = tmp_path / "detached.pid"
    stage = textwrap.dedent(f"""
        import signal, subprocess, sys, time
        sleeper = [sys.executable, "-c", "import time; time.sleep(120)"]
        child = subprocess.Popen(sleeper, start_new_session=True)
        open({str(pid_file)!r}, "w").write(str(child.pid))
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        time.sleep(120)
    """)
    outcome = _run_stage_in_child(tmp_path, [sys.executable, "-c", stage], timeout=2)
    assert outcome["status"] == TIMED_OUT
    assert 2 <= float(outcome["seconds"]) < 20  # SIGINT ignored: killed after the 1 s grace
    assert not _alive(int(pid_file.read_text()))


def test_a_failing_stage_reports_its_exit_status_and_output(tmp_path: Path) -> None:
    stage = "import sys; print('no database here'); sys.exit(3)"
    outcome = _run_stage_in_child(tmp_path, [sys.executable, "-c", stage], timeout=30)
    assert outcome["status"] == FAILED
    assert "exit status 3" in str(outcome["detail"]) and "no database here" in str(outcome["detail"])


def test_a_stage_that_writes_no_json_has_failed(tmp_path: Path) -> None:
    outcome = _run_stage_in_child(tmp_path, [sys.executable, "-c", "print('done')"], timeout=30)
    assert outcome["status"] == FAILED and "no JSON result" in str(outcome["detail"])


def test_a_stage_that_succeeds_hands_back_its_json(tmp_path: Path) -> None:
    stage = f"import json; json.dump([{{'rows': 5}}], open({str(tmp_path / 'stage.json')!r}, 'w'))"
    outcome = _run_stage_in_child(tmp_path, [sys.executable, "-c", stage], timeout=30)
    assert outcome["status"] == OK and outcome["data"] == [{"rows": 5}]


def test_only_the_generated_section_is_replaced() -> None:
    new = f"{BEGIN}\n| a | b |\n{END}"
    document = replace_section(HAND_WRITTEN, new)
    assert document == HAND_WRITTEN.replace(f"{BEGIN}\nold table\n{END}", new)
    with pytest.raises(ValueError, match="exactly one"):
        replace_section("# Benchmarks\n\nno markers\n", new)
    with pytest.raises(ValueError, match="exactly one"):
        replace_section(HAND_WRITTEN + BEGIN, new)


def _submission_runs(connections: int, echo: float, post: float, p99: float, ok: bool) -> list[dict]:
    extra = {"rows_ok": int(ok), "created": 10, "rows": 10}
    return [
        asdict(WrkResult("GET hello", connections, 1, 1.0, 2 * echo, 1, 1, 1, 2, 0, 0)),
        asdict(WrkResult("POST echo", connections, 1, 1.0, echo, 1, 1, 1, 2, 0, 0)),
        asdict(WrkResult("POST submission", connections, 1, 1.0, post, 5, 6, 7, p99, 0, 0, extra=extra)),
    ]


def test_submissions_are_judged_at_64_connections_on_share_and_p99() -> None:
    stage = Stage("submissions", "submissions", (), 1)
    runs = _submission_runs(16, 8000, 1000, 200, True) + _submission_runs(64, 8000, 4400, 30, True)
    rows = submission_rows([(stage, Outcome(OK, 1, "", runs))])
    assert [(r.size, r.verdict) for r in rows] == [("16 connections", "—"), ("64 connections", "met")]
    assert "4,400 req/s = 55% of POST echo (8,000 req/s), 28% of GET hello (16,000)" in rows[1].result
    slow = _submission_runs(64, 8000, 4400, 51, True)
    assert submission_rows([(stage, Outcome(OK, 1, "", slow))])[0].verdict == "missed"
    lost = _submission_runs(64, 8000, 4400, 30, False)
    assert submission_rows([(stage, Outcome(OK, 1, "", lost))])[0].verdict == "check failed"


def test_invitations_are_judged_on_the_rate_the_command_reports_and_on_every_row_stored() -> None:
    def results(per_s: float, created: int) -> list[dict]:
        paths = ("cli (whole command)", "cli (import, as reported)", "service function")
        return [{**asdict(Result("sqlite", 100_000, p, 100_000 / per_s, created)), "rows_per_s": per_s}
                for p in paths]  # fmt: skip

    stage = Stage("invitations", "invitations 100k", (), 1, 100_000)
    fast = invitation_rows([(stage, Outcome(OK, 1, "", results(60_000, 100_000)))])
    assert [(r.size, r.verdict) for r in fast] == [("100k", "met")]
    assert invitation_rows([(stage, Outcome(OK, 1, "", results(30_000, 100_000)))])[0].verdict == "missed"
    assert (
        invitation_rows([(stage, Outcome(OK, 1, "", results(60_000, 99_999)))])[0].verdict == "check failed"
    )


def test_mention_imports_are_judged_per_database_on_rate_and_flat_memory() -> None:
    def run(backend: str, rows: int, per_s: float, rss: float) -> dict:
        return asdict(Run(backend, rows, 1.0, rows / per_s, per_s, rss, 100.0, 1.0, 1.0, rows))

    stage = Stage("mentions", "mentions", (), 1, MILLION)
    runs = [
        run("sqlite", 100_000, 21_000, 200),
        run("postgresql", 100_000, 16_000, 100),
        run("sqlite", MILLION, 24_000, 250),  # 350 <= 1.5 x 300: flat
        run("postgresql", MILLION, 25_000, 260),  # 360 > 1.5 x 200: grew with the file
    ]
    rows = mention_rows([(stage, Outcome(OK, 1, "", runs))])
    assert [(r.backend, r.size, r.verdict) for r in rows] == [
        ("postgresql", "100k", "—"),
        ("postgresql", "1M", "missed"),
        ("sqlite", "100k", "—"),
        ("sqlite", "1M", "met"),
    ]


def test_stages_that_did_not_succeed_get_a_row_saying_so() -> None:
    metrics = next(b for b in BENCHMARKS if b.key == "metrics")
    stage = metrics.stages([MILLION], False, False)[0]
    rows = rows_for(metrics, [(stage, Outcome(TIMED_OUT, 420, "stopped after 420 s"))])
    assert [(r.size, r.verdict, r.result) for r in rows] == [("1M", "TIMED OUT", "stopped after 420 s")]


def test_the_command_says_wrk_is_missing_writes_the_table_and_fails(tmp_path: Path) -> None:
    document = tmp_path / "benchmarks.md"
    document.write_text(HAND_WRITTEN)
    python_only = tmp_path / "bin"
    python_only.mkdir()
    (python_only / "python").symlink_to(sys.executable)
    done = subprocess.run(
        [sys.executable, str(BENCH / "run.py"), "--only", "submissions", "--out", str(document),
         "--logs", str(tmp_path / "logs")],
        capture_output=True, text=True, timeout=120, env={**os.environ, "PATH": str(python_only)},
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "wrk not installed (apt-get install -y wrk)" in done.stderr
    written = document.read_text()
    before, after = HAND_WRITTEN.split(f"{BEGIN}\nold table\n{END}")
    assert written.startswith(before) and written.endswith(after)
    assert "| **not run** |" in written and "`python bench/run.py --only submissions --out" in written
