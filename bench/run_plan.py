"""What `bench/run.py` runs: one stage per benchmark script and size, and how its JSON reads as table rows.

Each stage runs one of the bench_*.py scripts with `--json`; nothing here measures anything itself. The
targets are the ones the issues set (issue numbers in brackets) and are judged only at the size they name.
"""

from __future__ import annotations

import shutil
import statistics
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from run_stages import NOT_RUN, OK, Outcome

BENCH = Path(__file__).resolve().parent
MILLION = 1_000_000
MET, MISSED, NO_TARGET, CHECK_FAILED = "met", "missed", "—", "check failed"


@dataclass(frozen=True)
class Stage:
    benchmark: str  # key: submissions, invitations, ...
    label: str  # for progress lines and the stage table
    arguments: tuple[str, ...]  # the script and its options, without --json
    timeout: float  # seconds
    size: int | None = None
    requires: tuple[str, ...] = ()  # programs that must be installed

    def command(self, json_path: Path) -> list[str]:
        return [sys.executable, *self.arguments, "--json", str(json_path)]


@dataclass(frozen=True)
class Row:
    benchmark: str
    backend: str
    size: str
    figure: str
    result: str
    target: str
    verdict: str


@dataclass(frozen=True)
class Benchmark:
    key: str
    title: str
    script: str
    target: str  # as the issue says it, for the detail sections
    stages: Callable[[Sequence[int], bool, bool], list[Stage]]  # (sizes, postgres, quick)
    rows: Callable[[list[tuple[Stage, Outcome]]], list[Row]]
    installs: dict[str, str] = field(default_factory=dict)


def size_label(rows: int) -> str:
    for unit, name in ((MILLION, "M"), (1000, "k")):
        if rows >= unit and rows % unit == 0:
            return f"{rows // unit}{name}"
    return f"{rows:,}"


def _timeout(base: float, per_million: float, rows: int, postgres: bool = False) -> float:
    return (base + per_million * rows / MILLION) * (2 if postgres else 1)


def _script(name: str) -> str:
    return str(BENCH / name)


def verdict(size: int | None, judged_at: int | None, ok: bool) -> str:
    """Met/missed at the size the target names (any size when ``judged_at`` is None)."""
    if judged_at is not None and size != judged_at:
        return NO_TARGET
    return MET if ok else MISSED


# -- submissions (issue 2) ------------------------------------------------------------------------------


def submission_stages(sizes: Sequence[int], postgres: bool, quick: bool) -> list[Stage]:
    duration, warmup = ("5", "2") if quick else ("10", "3")
    arguments = (
        _script("bench_submissions.py"),
        *("--connections", "16", "64", "--duration", duration, "--warmup", warmup, "--repeat", "1"),
        *("--quiet", "0.3", "--quiet-wait", "15", "--retries", "1"),
    )
    stages = [
        Stage(
            "submissions",
            "submissions, 16 and 64 connections",
            arguments,
            240 if quick else 420,
            requires=("wrk",),
        )
    ]
    if postgres:  # the issue-15 figures on PostgreSQL, one web worker beside two
        stages += [
            Stage(
                "submissions",
                f"submissions, postgresql, {workers} worker{'s' if workers > 1 else ''}",
                (*arguments, "--postgres", "--workers", str(workers)),
                300 if quick else 480,
                requires=("wrk",),
            )
            for workers in (1, 2)
        ]
    return stages


def submission_rows(done: list[tuple[Stage, Outcome]]) -> list[Row]:
    rows = []
    for _, outcome in done:
        backend = outcome.data[0].get("backend", "sqlite") if outcome.data else "sqlite"
        workers = outcome.data[0].get("workers", 1) if outcome.data else 1
        label = backend if workers == 1 and backend == "sqlite" else f"{backend}, {workers} worker(s)"
        runs = outcome.data
        for connections in sorted({r["connections"] for r in runs}):

            def median(
                endpoint: str, figure: str, connections: int = connections, runs: list[Any] = runs
            ) -> float:
                found = [
                    r[figure] for r in runs if r["connections"] == connections and r["endpoint"] == endpoint
                ]
                return statistics.median(found) if found else float("nan")

            posts = [
                r for r in runs if r["connections"] == connections and r["endpoint"] == "POST submission"
            ]
            rps, echo, hello = (median(e, "rps") for e in ("POST submission", "POST echo", "GET hello"))
            p99 = median("POST submission", "p99_ms")
            share = rps / echo
            stored = all(r["extra"].get("rows_ok") for r in posts)
            result = (
                f"{rps:,.0f} req/s = {share:.0%} of POST echo ({echo:,.0f} req/s), {rps / hello:.0%} of GET "
                f"hello ({hello:,.0f}); p50 {median('POST submission', 'p50_ms'):.1f} ms, p99 {p99:.1f} ms; "
                + (
                    f"PostgreSQL's CPU {median('POST submission', 'database_cpu'):.2f} cores, "
                    if backend == "postgresql"
                    else ""
                )
                + f"other CPU {median('POST submission', 'other_cpu'):.2f} cores; "
                + ("every 201 stored" if stored else "**201s missing from the database**")
            )
            judged = verdict(connections, 64, share >= 0.5 and p99 < 50)
            rows.append(
                Row(
                    "",
                    label,
                    f"{connections} connections",
                    "POST submission",
                    result,
                    "≥ 50% of POST echo req/s and p99 < 50 ms at 64 connections",
                    judged if stored else CHECK_FAILED,
                )
            )
    return rows


# -- invitation import (issue 2) ------------------------------------------------------------------------


def invitation_stages(sizes: Sequence[int], postgres: bool, quick: bool) -> list[Stage]:
    extra = ("--postgres",) if postgres else ()
    return [
        Stage(
            "invitations",
            f"invitation import, {size_label(n)} rows",
            (_script("bench_invitations.py"), "--rows", str(n), *extra),
            _timeout(150, 420, n, postgres),
            n,
        )
        for n in sizes
    ]


def invitation_rows(done: list[tuple[Stage, Outcome]]) -> list[Row]:
    rows = []
    for stage, outcome in done:
        for backend in sorted({r["backend"] for r in outcome.data}, key=_backend_order):
            by_path = {r["path"]: r for r in outcome.data if r["backend"] == backend}
            reported = by_path["cli (import, as reported)"]
            result = (
                f"{reported['rows_per_s']:,.0f} rows/s as `feedback invitations import` reports it; "
                f"whole command {by_path['cli (whole command)']['rows_per_s']:,.0f}, service function "
                f"{by_path['service function']['rows_per_s']:,.0f}"
            )
            complete = all(r["created"] == stage.size for r in by_path.values())
            judged = verdict(stage.size, None, reported["rows_per_s"] >= 50_000)
            rows.append(
                Row(
                    "",
                    backend,
                    size_label(stage.size or 0),
                    "rows/s",
                    result,
                    "≥ 50,000 rows/s",
                    judged if complete else CHECK_FAILED,
                )
            )
    return rows


# -- mention import (issue 3) ---------------------------------------------------------------------------


def mention_stages(sizes: Sequence[int], postgres: bool, quick: bool) -> list[Stage]:
    extra = ("--postgres",) if postgres else ()
    return [
        Stage(
            "mentions",
            f"mention import, {size_label(n)} rows",
            (_script("bench_mentions_import.py"), "--sizes", str(n), *extra),
            _timeout(150, 420, n, postgres),
            n,
        )
        for n in sizes
    ]


def mention_rows(done: list[tuple[Stage, Outcome]]) -> list[Row]:
    runs = sorted(
        (r for _, outcome in done for r in outcome.data),
        key=lambda r: (r.get("backend", "sqlite"), r["rows"]),
    )
    rows = []
    for r in runs:
        backend = r.get("backend", "sqlite")
        rss = {
            x["rows"]: x["rss_main_mib"] + x["rss_worker_mib"]
            for x in runs
            if x.get("backend", "sqlite") == backend
        }
        result = (
            f"{r['rows_per_s']:,.0f} rows/s ({r['seconds']:.1f} s, sentiment included); peak RSS "
            f"{r['rss_main_mib']:.0f} MiB main + {r['rss_worker_mib']:.0f} MiB largest worker"
        )
        flat = rss[r["rows"]] <= 1.5 * rss[100_000] if 100_000 in rss else True
        if r["rows"] == MILLION and 100_000 not in rss:
            result += " (memory not judged: no 100k run to compare with)"
        judged = verdict(r["rows"], MILLION, r["rows_per_s"] >= 20_000 and flat)
        rows.append(
            Row(
                "",
                backend,
                size_label(r["rows"]),
                "rows/s, peak memory",
                result,
                "≥ 20,000 rows/s at 1M; peak RSS (main + worker) at 1M ≤ 1.5x at 100k (flat)",
                judged if r["stored"] == r["rows"] else CHECK_FAILED,
            )
        )
    return rows


# -- metrics (issue 4) ----------------------------------------------------------------------------------


def metric_stages(sizes: Sequence[int], postgres: bool, quick: bool) -> list[Stage]:
    extra = ("--postgres",) if postgres else ()
    return [
        Stage(
            "metrics",
            f"metrics, {size_label(n)} responses",
            (_script("bench_metrics.py"), "--rows", str(n), "--repeat", "3", *extra),
            _timeout(150, 240, n, postgres),
            n,
        )
        for n in sizes
    ]


def metric_rows(done: list[tuple[Stage, Outcome]]) -> list[Row]:
    rows = []
    for _, outcome in done:
        for r in sorted(outcome.data, key=lambda r: _backend_order(r["backend"])):
            result = (
                f"{r['total_s']:.2f} s median of 3 (read {r['read_s']:.2f} + compute {r['compute_s']:.2f}); "
                f"best {r['best_total_s']:.2f} s; CPU {r['cpu_s']:.2f} s; rollups recounted in "
                f"{r['recount_s']:.1f} s"
            )
            rollups = r.get("path", "rows") == "rollups"
            rows.append(
                Row(
                    "",
                    r["backend"],
                    size_label(r["rows"]),
                    f"all metrics by week, read from {r.get('path', 'rows')}"
                    + ("" if rollups else " (Europe/Berlin days)"),
                    result,
                    "< 1 s at 10M" if rollups else NO_TARGET,
                    verdict(r["rows"], 10 * MILLION, r["total_s"] < 1) if rollups else NO_TARGET,
                )
            )
    return rows


# -- root causes (issue 5) ------------------------------------------------------------------------------


def cause_stages(sizes: Sequence[int], postgres: bool, quick: bool) -> list[Stage]:
    return [
        Stage(
            "causes",
            f"root causes, {size_label(n)} items ({size_label(n // 10)} negative)",
            (_script("bench_causes.py"), "--negatives", str(n // 10), "--ratio", "10"),
            _timeout(150, 420, n),
            n,
        )
        for n in sizes
    ]


def cause_rows(done: list[tuple[Stage, Outcome]]) -> list[Row]:
    rows = []
    for _, outcome in done:
        for r in outcome.data:
            result = (
                f"{r['seconds']:.1f} s (assign + discover {r['s_assign_and_discover']:.1f} s, ledger "
                f"{r['s_ledger']:.1f} s); {r['negatives']:,} negatives, {r['assigned']:,} assigned, "
                f"{r['clusters']} clusters"
            )
            rows.append(
                Row(
                    "",
                    "in memory",
                    size_label(r["items"]),
                    "full run: assign, discover, label, ledger",
                    result,
                    "< 60 s at 1M items (100k negative)",
                    verdict(r["items"], MILLION, r["seconds"] < 60),
                )
            )
    return rows


# -- digests (issue 6) ----------------------------------------------------------------------------------


def digest_stages(sizes: Sequence[int], postgres: bool, quick: bool) -> list[Stage]:
    extra = ("--postgres",) if postgres else ()
    return [
        Stage(
            "digests",
            f"digests for 50 departments, {size_label(n)} responses",
            (_script("bench_digests.py"), "--rows", str(n), "--repeat", "3" if n >= MILLION else "1", *extra),
            _timeout(200, 250, n, postgres),
            n,
            ("chromium",),
        )
        for n in sizes
    ]


def digest_rows(done: list[tuple[Stage, Outcome]]) -> list[Row]:
    rows = []
    for _, outcome in done:
        for r in sorted(outcome.data, key=lambda r: _backend_order(r["backend"])):
            complete = r["digests"] == 50 and r["emails_sent"] == 100 and r["charts"] == 100
            result = (
                f"{r['total_s']:.1f} s (build {r['build_s']:.1f}, 100 charts {r['charts_s']:.1f}, deliver "
                f"{r['deliver_s']:.1f}); {r['digests']} digests, {r['emails_sent']} e-mails, "
                f"{r['charts']} charts"
            )
            rows.append(
                Row(
                    "",
                    r["backend"],
                    size_label(r["rows"]),
                    "one scheduler run, charts and e-mail included",
                    result,
                    "< 30 s at 1M",
                    verdict(r["rows"], MILLION, r["total_s"] < 30) if complete else CHECK_FAILED,
                )
            )
    return rows


# -- dashboards (issue 7) -------------------------------------------------------------------------------


def dashboard_stages(sizes: Sequence[int], postgres: bool, quick: bool) -> list[Stage]:
    stages = []
    setups = [("sqlite", 1)] + ([("postgresql", 1), ("postgresql", 2)] if postgres else [])
    for backend, workers in setups:
        extra = ("--postgres", "--workers", str(workers)) if backend == "postgresql" else ()
        label = f"{backend}, {workers} worker{'s' if workers > 1 else ''}" if extra else backend
        stages += [
            Stage(
                "dashboards",
                f"executive dashboard, {size_label(n)} responses, {label}",
                (_script("bench_dashboards.py"), "--rows", str(n), "--views", "5", *extra),
                _timeout(240, 360, n),
                n,
                ("chromium",),
            )
            for n in sizes
        ]
    return stages


def dashboard_rows(done: list[tuple[Stage, Outcome]]) -> list[Row]:
    rows = []
    title, target = "", "p50 < 300 ms server time per page at 1M"
    for _, outcome in done:
        for r in outcome.data:
            size = size_label(r["rows"])
            rows += [
                Row(
                    title,
                    r["backend"],
                    size,
                    "server, data unchanged (cached, p50)",
                    f"{r['cached_p50_s'] * 1000:.0f} ms",
                    target,
                    verdict(r["rows"], MILLION, r["cached_p50_s"] < 0.3),
                ),
                Row(
                    title,
                    r["backend"],
                    size,
                    "server, first view after new data (p50; uncached p50; first view after start; "
                    "pages/s, 4 clients)",
                    f"{r.get('after_new_data_p50_s', float('nan')):.2f} s; {r['uncached_p50_s']:.2f} s; "
                    f"{r['cold_s']:.2f} s; "
                    f"{r.get('uncached_pages_per_s_4_clients', float('nan')):.1f} pages/s",
                    target,
                    verdict(r["rows"], MILLION, r.get("after_new_data_p50_s", r["uncached_p50_s"]) < 0.3),
                ),
                Row(
                    title,
                    r["backend"],
                    size,
                    "browser: navigation to all charts drawn (p50)",
                    f"{r['browser_drawn_p50_s'] * 1000:.0f} ms",
                    "< 1 s at 1M",
                    verdict(r["rows"], MILLION, r["browser_drawn_p50_s"] < 1),
                ),
            ]
    return rows


def _backend_order(backend: str) -> int:
    return 0 if backend == "sqlite" else 1


BENCHMARKS = (
    Benchmark(
        "submissions",
        "Submissions (HTTP API)",
        "bench_submissions.py",
        "[15] ≥ 50% of a POST-echo route's req/s (same server) with p99 < 50 ms at 64 connections",
        submission_stages,
        submission_rows,
        {"wrk": "apt-get install -y wrk"},
    ),
    Benchmark(
        "invitations",
        "Invitation import (CSV)",
        "bench_invitations.py",
        "[2] ≥ 50,000 rows/s from CSV",
        invitation_stages,
        invitation_rows,
    ),
    Benchmark(
        "mentions",
        "Mention import (CSV)",
        "bench_mentions_import.py",
        "[3] 1M-row CSV ≥ 20,000 rows/s end to end, memory flat",
        mention_stages,
        mention_rows,
    ),
    Benchmark(
        "metrics",
        "Metrics (week x department x channel)",
        "bench_metrics.py",
        "[15] all metrics by week x department x channel over 10M responses < 1 s (UTC days: rollups)",
        metric_stages,
        metric_rows,
    ),
    Benchmark(
        "causes",
        "Root causes (default engine)",
        "bench_causes.py",
        "[5] 1M items (100k negative) < 60 s",
        cause_stages,
        cause_rows,
    ),
    Benchmark(
        "digests",
        "Digests (50 departments)",
        "bench_digests.py",
        "[6] 50 departments over 1M responses < 30 s",
        digest_stages,
        digest_rows,
        {"chromium": "apt-get install -y chromium"},
    ),
    Benchmark(
        "dashboards",
        "Executive dashboard",
        "bench_dashboards.py",
        "[7] executive overview over 1M: server p50 < 300 ms, browser < 1 s",
        dashboard_stages,
        dashboard_rows,
        {"chromium": "apt-get install -y chromium"},
    ),
)


def missing_programs(stage: Stage, installs: dict[str, str]) -> str:
    """Why ``stage`` cannot run here ('' when it can)."""
    missing = [name for name in stage.requires if shutil.which(name) is None]
    hints = ", ".join(installs.get(name, name) for name in missing)
    return f"{', '.join(missing)} not installed ({hints})" if missing else ""


def rows_for(benchmark: Benchmark, done: list[tuple[Stage, Outcome]]) -> list[Row]:
    """Rows of the stages that succeeded; one row per stage that did not, saying what happened."""
    rows = []
    succeeded = [(s, o) for s, o in done if o.status == OK]
    try:
        rows += [replace(row, benchmark=benchmark.title) for row in benchmark.rows(succeeded)]
    except (KeyError, TypeError, ValueError, IndexError) as error:  # the script's JSON changed shape
        rows.append(Row(benchmark.title, "", "", "", f"cannot read the results: {error!r}", "", CHECK_FAILED))
    for stage, outcome in done:
        if outcome.status != OK:
            status = outcome.status.upper() if outcome.status != NOT_RUN else NOT_RUN
            detail = outcome.detail.replace("\n", " ").replace("|", "\\|")[:300]
            rows.append(
                Row(
                    benchmark.title,
                    "",
                    size_label(stage.size) if stage.size else "",
                    stage.label,
                    f"{detail}",
                    "",
                    status,
                )
            )
    return rows


def data_of(done: list[tuple[Stage, Outcome]]) -> list[dict[str, Any]]:
    return [
        {
            "stage": s.label,
            "status": o.status,
            "seconds": round(o.seconds, 1),
            "detail": o.detail,
            "data": o.data,
        }
        for s, o in done
    ]
