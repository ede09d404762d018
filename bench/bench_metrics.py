"""Every metric by week x department x channel over N synthetic responses: how long, read vs compute.

The database is built by the real migrations, then filled inside the database itself (SQLite: INSERT ...
SELECT from a recursive CTE; PostgreSQL: generate_series), which is far faster than any client-side insert:

- N responses over one year (5 departments, 4 channels, 20 products, 12 teams, 300 agents, 4 contractors,
  6 regions; NPS, CSAT and CES on each; handle time, wait time and FCR), ids in insertion order;
- a comment with a polarity on 40% of them (the ``answers`` table; analyzer "bench", so that the app does not
  score them again in the background);
- N/2 invitations, 60% answered (for the response rate).

The rows are written around the services, so the daily rollups are then recounted once (``recount_s``, what
`feedback metrics rebuild` costs). Then ``compute_metrics`` (the service behind GET /api/metrics and `feedback
metrics show`) runs all eight response and invitation metrics by week x department x channel over the whole
year, ``--repeat`` times, twice: in UTC (whole UTC days come from the rollups: "rollups") and in Europe/Berlin
(local days are no UTC days, so every row is read: "rows"). The median is reported with the part spent
reading the database into Polars, the best run, and this process's CPU time (on SQLite all the work is in
this process, so CPU time is what the run costs even when the machine is shared with other busy processes:
see the load average).

    python bench/bench_metrics.py --rows 100000,1000000,10000000
    python bench/bench_metrics.py --rows 1000000 --postgres           # also on a private PostgreSQL cluster
    python bench/bench_metrics.py --rows 1000000 --keep /tmp/bench    # keep (and reuse) the SQLite files
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for tests.pg_cluster

from feedback.analysis.metrics import Period  # noqa: E402
from feedback.db import make_engine, make_sessionmaker, upgrade_database  # noqa: E402
from feedback.metrics import rollups  # noqa: E402
from feedback.metrics import service as metrics_service  # noqa: E402
from feedback.metrics.service import MetricsQuery, compute_metrics  # noqa: E402

START = 1_767_225_600  # 2026-01-01 00:00 UTC
YEAR = 365 * 86_400
SETUP = """
INSERT INTO departments (id, slug, name, created_at) VALUES
  (1, 'support', 'Support', '2026-01-01 00:00:00'), (2, 'delivery', 'Delivery', '2026-01-01 00:00:00'),
  (3, 'billing', 'Billing', '2026-01-01 00:00:00'), (4, 'sales', 'Sales', '2026-01-01 00:00:00'),
  (5, 'returns', 'Returns', '2026-01-01 00:00:00');
INSERT INTO surveys (id, slug, title, intro, thank_you, department_id, status, created_at, updated_at) VALUES
  (1, 'bench', 'Bench', '', '', 1, 'open', '2026-01-01 00:00:00', '2026-01-01 00:00:00');
INSERT INTO questions (id, survey_id, position, key, kind, prompt, required) VALUES
  (1, 1, 0, 'comment', 'text', 'Anything else?', false)
"""

SQLITE_FILL = """
INSERT INTO responses (id, survey_id, via, submitted_at, nps, csat, ces, channel, product, team, agent,
                       contractor, region, handle_time_s, wait_time_s, first_contact_resolved, department_id)
WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i < :n - 1),
     r AS (SELECT i, abs(random()) AS a, abs(random()) AS b FROM seq)
SELECT printf('%012x', i) || lower(hex(randomblob(10))), 1, 'api',
       strftime('%Y-%m-%d %H:%M:%f', :start + i * :span / :n, 'unixepoch') || '000',
       a % 11, 1 + b % 5, 1 + (a / 11) % 7,
       CASE (b / 5) % 4 WHEN 0 THEN 'phone' WHEN 1 THEN 'email' WHEN 2 THEN 'chat' ELSE 'web' END,
       'product-' || ((a / 77) % 20), 'team-' || ((b / 20) % 12), 'agent-' || ((a / 1540) % 300),
       'contractor-' || ((b / 240) % 4), 'region-' || ((a / 462000) % 6), 30 + (b / 960) % 1200,
       (a / 5) % 600, ((b / 7) % 3) > 0, 1 + (a / 13) % 5
FROM r;
INSERT INTO answers (response_id, question_id, text, polarity, analyzer)
SELECT id, 1, 'a comment', (abs(random()) % 2001 - 1000) / 1000.0, 'bench'
FROM responses WHERE abs(random()) % 10 < 4;
INSERT INTO invitations (id, survey_id, token_hash, dedup_key, created_at, responded_at, channel,
                         department_id)
WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < :n / 2)
SELECT i, 1, printf('%064x', i), printf('%064x', i),
       strftime('%Y-%m-%d %H:%M:%f', :start + i * 2 * :span / :n, 'unixepoch') || '000',
       CASE WHEN abs(random()) % 10 < 6 THEN '2026-12-31 00:00:00.000000' END,
       CASE abs(random()) % 4 WHEN 0 THEN 'phone' WHEN 1 THEN 'email' WHEN 2 THEN 'chat' ELSE 'web' END,
       1 + abs(random()) % 5
FROM seq
"""

POSTGRES_FILL = """
INSERT INTO responses (id, survey_id, via, submitted_at, nps, csat, ces, channel, product, team, agent,
                       contractor, region, handle_time_s, wait_time_s, first_contact_resolved, department_id)
SELECT md5(i::text)::uuid, 1, 'api', to_timestamp(:start + i::bigint * :span / :n) AT TIME ZONE 'UTC',
       floor(random() * 11)::int, 1 + floor(random() * 5)::int, 1 + floor(random() * 7)::int,
       (ARRAY['phone', 'email', 'chat', 'web'])[1 + floor(random() * 4)::int],
       'product-' || floor(random() * 20)::int, 'team-' || floor(random() * 12)::int,
       'agent-' || floor(random() * 300)::int, 'contractor-' || floor(random() * 4)::int,
       'region-' || floor(random() * 6)::int, 30 + floor(random() * 1201)::int,
       floor(random() * 601)::int, random() < 0.67, 1 + floor(random() * 5)::int
FROM generate_series(0, :n - 1) AS i;
INSERT INTO answers (response_id, question_id, text, polarity, analyzer)
SELECT id, 1, 'a comment', random() * 2 - 1, 'bench' FROM responses WHERE random() < 0.4;
INSERT INTO invitations (id, survey_id, token_hash, dedup_key, created_at, responded_at, channel,
                         department_id)
SELECT i, 1, md5(i::text) || md5(i::text), md5(i::text) || md5(i::text),
       to_timestamp(:start + i::bigint * 2 * :span / :n) AT TIME ZONE 'UTC',
       CASE WHEN random() < 0.6 THEN TIMESTAMP '2026-12-31' END,
       (ARRAY['phone', 'email', 'chat', 'web'])[1 + floor(random() * 4)::int], 1 + floor(random() * 5)::int
FROM generate_series(1, :n / 2) AS i;
ANALYZE
"""


def fill(url: str, rows: int) -> float:
    """Migrate and fill the database at ``url``; seconds taken."""
    started = time.perf_counter()
    upgrade_database(url)
    engine = make_engine(url)
    script = SQLITE_FILL if url.startswith("sqlite") else POSTGRES_FILL
    params = {"n": rows, "start": START, "span": YEAR}
    with engine.begin() as connection:
        if url.startswith("sqlite"):
            connection.exec_driver_sql("PRAGMA synchronous=OFF")
        for statement in [*SETUP.split(";"), *script.split(";")]:
            if statement.strip():
                connection.execute(text(statement), {k: v for k, v in params.items() if f":{k}" in statement})
    engine.dispose()
    return time.perf_counter() - started


def recount(url: str) -> float:
    """Count the rows that ``fill`` wrote around the services into the daily rollups; seconds taken."""
    started = time.perf_counter()
    engine = make_engine(url)
    with engine.begin() as connection:
        rollups.rebuild(connection)
    engine.dispose()
    return time.perf_counter() - started


def measure(url: str, repeat: int, tz: str = "UTC") -> dict[str, float]:
    """Metrics by week x department x channel over the year: in UTC from the daily rollups, in another time
    zone (whose days are not UTC days) from the rows."""
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    read_seconds: list[float] = []
    original = metrics_service.read_source

    def timed_read(*args, **kwargs):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            read_seconds.append(time.perf_counter() - started)

    metrics_service.read_source = timed_read  # type: ignore[assignment]
    query = MetricsQuery(
        by=("department", "channel"),
        period=Period.WEEK,
        tz=tz,
        since=datetime(2026, 1, 1, tzinfo=UTC),
        until=datetime(2027, 1, 1, tzinfo=UTC),
    )
    totals, reads, cpus, rows_out = [], [], [], 0
    try:
        for _ in range(repeat):
            read_seconds.clear()
            started, cpu_started = time.perf_counter(), time.process_time()
            with sessions() as session:
                result = compute_metrics(session, query)
            totals.append(time.perf_counter() - started)
            cpus.append(time.process_time() - cpu_started)
            reads.append(sum(read_seconds))
            rows_out = result.table.height
    finally:
        metrics_service.read_source = original  # type: ignore[assignment]
        engine.dispose()
    total, read = statistics.median(totals), statistics.median(reads)
    best = min(range(len(totals)), key=lambda i: totals[i])
    return {
        "total_s": total,
        "read_s": read,
        "compute_s": total - read,
        "best_total_s": totals[best],
        "best_read_s": reads[best],
        "result_rows": rows_out,
        "cpu_s": statistics.median(
            cpus
        ),  # this process only: all the work on SQLite, not PostgreSQL's server
        "load_average": os.getloadavg()[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", default="100000,1000000", help="comma-separated response counts")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--postgres", action="store_true", help="also on a private PostgreSQL cluster")
    parser.add_argument("--keep", type=Path, help="directory for the SQLite files (reused when present)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    sizes = [int(n) for n in args.rows.split(",")]
    results = []
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="bench-metrics-"))
    workdir.mkdir(parents=True, exist_ok=True)
    for n in sizes:
        path = workdir / f"metrics-{n}.db"
        url = f"sqlite:///{path}"
        fill_s, recount_s = (0.0, 0.0) if path.exists() else (fill(url, n), recount(url))
        for path_name, tz in (("rollups", "UTC"), ("rows", "Europe/Berlin")):
            results.append(
                {"backend": "sqlite", "rows": n, "path": path_name, "fill_s": fill_s, "recount_s": recount_s,
                 **measure(url, args.repeat, tz)}
            )  # fmt: skip
            print(json.dumps(results[-1]), flush=True)
        if not args.keep:
            path.unlink()
    if args.postgres:
        from tests.pg_cluster import PgCluster

        cluster = PgCluster(durable=True)
        base = cluster.start()
        try:
            admin = make_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
            for n in sizes:
                name = f"bench_{n}"
                with admin.connect() as connection:
                    connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
                    connection.exec_driver_sql(f"CREATE DATABASE {name}")
                url = f"{base}/{name}"
                fill_s, recount_s = fill(url, n), recount(url)
                for path_name, tz in (("rollups", "UTC"), ("rows", "Europe/Berlin")):
                    results.append(
                        {"backend": "postgresql", "rows": n, "path": path_name, "fill_s": fill_s,
                         "recount_s": recount_s, **measure(url, args.repeat, tz)}
                    )  # fmt: skip
                    print(json.dumps(results[-1]), flush=True)
                with admin.connect() as connection:
                    connection.exec_driver_sql(f"DROP DATABASE {name} WITH (FORCE)")
            admin.dispose()
        finally:
            cluster.stop()
    print(
        "\n| backend | responses | read from | median total (read + compute) | best total (read) | CPU "
        "| recount | load average |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['backend']} | {r['rows']:,} | {r['path']} "
            f"| {r['total_s']:.2f} s ({r['read_s']:.2f} + {r['compute_s']:.2f}) "
            f"| {r['best_total_s']:.2f} s ({r['best_read_s']:.2f}) | {r['cpu_s']:.2f} s "
            f"| {r['recount_s']:.1f} s | {r['load_average']:.1f} |"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
