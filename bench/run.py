"""The whole benchmark table of the project in one command, written into docs/benchmarks.md.

Runs every benchmark script (submissions, invitation and mention import, metrics, root causes, digests,
dashboards) at each size as a stage of its own, each bounded by a timeout and all by a time budget, with
progress on stderr. A stage that fails, times out or cannot run (a missing program) shows as such in the
table and the run goes on; the exit status is then 1. Traffic goes only to 127.0.0.1. The table and the
machine it ran on replace the generated section of --out (between <!-- bench:begin --> and
<!-- bench:end -->); the rest of the document is left as it is.

    python bench/run.py                     # 10k, 100k and 1M rows, SQLite (about 20 minutes on 2 cores)
    python bench/run.py --quick             # 10k rows only, shorter load runs
    python bench/run.py --postgres          # also on a private PostgreSQL cluster (tests/pg_cluster.py)
    python bench/run.py --only metrics causes --sizes 100000 --out -    # print only, write nothing
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from run_plan import BENCHMARKS, Stage, data_of, missing_programs, rows_for
from run_report import machine, section, write_section
from run_stages import NOT_RUN, OK, Outcome, become_subreaper, run_stage

REPO = Path(__file__).resolve().parent.parent


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _options(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=[10_000, 100_000, 1_000_000],
        help="rows per stage (default: 10000 100000 1000000)",
    )
    parser.add_argument("--quick", action="store_true", help="10k rows only, and shorter load runs")
    parser.add_argument("--postgres", action="store_true", help="also on a private PostgreSQL cluster")
    parser.add_argument(
        "--only", nargs="+", choices=[b.key for b in BENCHMARKS], help="these benchmarks only"
    )
    parser.add_argument(
        "--out",
        default=str(REPO / "docs" / "benchmarks.md"),
        help="document whose generated section is rewritten ('-': write nothing)",
    )
    parser.add_argument("--budget", type=float, default=30, help="minutes for the whole run (default 30)")
    parser.add_argument("--json", type=Path, help="also write every stage's figures here")
    parser.add_argument(
        "--logs", type=Path, help="directory for the stages' output (default: a new temporary one)"
    )
    options = parser.parse_args(argv)
    if options.quick:
        options.sizes = [10_000]
    if not all(1_000 <= n <= 2_000_000 for n in options.sizes) or not 1 <= options.budget <= 240:
        parser.error("--sizes between 1,000 and 2,000,000 rows; --budget between 1 and 240 minutes")
    return options


def _command(argv: Sequence[str]) -> str:
    return shlex.join(["python", "bench/run.py", *argv])


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    options = _options(argv)
    benchmarks = [b for b in BENCHMARKS if options.only is None or b.key in options.only]
    plan = [
        (b, s) for b in benchmarks for s in b.stages(sorted(options.sizes), options.postgres, options.quick)
    ]
    logs = options.logs or Path(tempfile.mkdtemp(prefix="feedback-bench-run-"))
    logs.mkdir(parents=True, exist_ok=True)
    if not become_subreaper():
        _log(
            "note: cannot adopt orphaned processes here; a stage killed at its timeout may leave some behind"
        )
    facts = machine(REPO, options.postgres)
    _log(f"{len(plan)} stages, budget {options.budget:g} minutes; stage output in {logs}")
    started = time.monotonic()
    deadline = started + options.budget * 60
    done: dict[str, list[tuple[Stage, Outcome]]] = {b.key: [] for b in benchmarks}
    for number, (benchmark, stage) in enumerate(plan, 1):
        name = f"[{number}/{len(plan)}] {stage.label}"
        left = deadline - time.monotonic()
        missing = missing_programs(stage, benchmark.installs)
        if missing:
            outcome = Outcome(NOT_RUN, 0.0, missing)
        elif left < 30:
            outcome = Outcome(
                NOT_RUN, 0.0, f"the time budget (--budget {options.budget:g} minutes) was spent"
            )
        else:
            timeout = min(stage.timeout, left)
            _log(f"{name}: running (timeout {timeout:.0f} s)")
            outcome = run_stage(
                stage.label,
                stage.command(logs / f"{number:02d}.json"),
                timeout,
                logs / f"{number:02d}-{benchmark.key}.log",
                logs / f"{number:02d}.json",
                REPO,
            )
        note = f" ({outcome.detail})" if outcome.detail else ""
        _log(f"{name}: {outcome.status} after {outcome.seconds:.1f} s{note}")
        done[benchmark.key].append((stage, outcome))
    total = time.monotonic() - started
    facts["load average at end"] = "{:.2f} {:.2f} {:.2f} (1, 5, 15 min)".format(*os.getloadavg())
    rows = [row for b in benchmarks for row in rows_for(b, done[b.key])]
    stages = [(s.label, o.status, o.seconds, s.timeout) for b in benchmarks for s, o in done[b.key]]
    generated = section(_command(argv), facts, rows, stages, total)
    print(generated)
    if options.out != "-":
        write_section(Path(options.out), generated)
        _log(f"wrote {options.out}")
    if options.json:
        figures = {b.key: data_of(done[b.key]) for b in benchmarks}
        options.json.write_text(json.dumps({"machine": facts, "stages": figures}, indent=2))
    broken = [r for r in rows if r.verdict not in ("met", "missed", "—")]
    failed = [s for s in done.values() for _, o in s if o.status != OK]
    if broken or failed:
        _log(f"{len(failed)} stage(s) did not succeed, {len(broken)} row(s) not measured or failed a check")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
