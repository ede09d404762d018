"""The executive overview over N responses: server time per page (cold and cached), and browser drawing time.

The database is the one bench_metrics.py builds (N responses over 2026, a comment on 40%, N/2 invitations)
plus N/20 public mentions and a dozen root causes with a year of weekly ledger rows. The real app runs under
uvicorn in its own process; an admin signs in through the login form, then:

- server: GET /dashboards/executive-overview for the whole year (every response in the window), timed at the
  client over loopback. "cold" is the first view after the server started (the cache is empty: every panel is
  read and computed, figures are built, and the process pays its first-use costs); "cached" the median of the
  views after it; "after new data" the median of views each right after one more response was stored through
  the service (in this process: the server's cache sees the new data and recomputes, what a viewer meets on a
  live system), with the CPU time of the server's processes during each of those views (PostgreSQL's own
  not included). "uncached" runs the same with FEEDBACK_DASHBOARD_CACHE_S=0 (every view computed).
- browser: Chromium (Playwright) opens the page; the time from navigation start until dashboards.js has
  drawn every chart (window.__chartsDrawnAt), median of the views after the first (plotly.js from the
  browser's cache, as it is for anyone who opened a dashboard before).

    python bench/bench_dashboards.py --rows 100000,1000000 --keep /tmp/bench
    python bench/bench_dashboards.py --rows 1000000 --postgres     # on a private PostgreSQL cluster instead
    python bench/bench_dashboards.py --rows 1000000 --postgres-url postgresql://postgres@127.0.0.1:PORT
    python bench/bench_dashboards.py --rows 10000000 --keep DIR --no-uncached  # DIR/dashboards-10000000.db
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from bench_metrics import fill, recount  # noqa: E402
from feedback.accounts.users import create_user  # noqa: E402
from feedback.db import make_engine, make_sessionmaker, transaction, upgrade_database  # noqa: E402
from feedback.metrics import rollups  # noqa: E402
from feedback.models import Response, Role  # noqa: E402
from feedback.surveys.service import load_survey, parse_survey_spec  # noqa: E402

EMAIL, PASSWORD = "bench-admin@example.com", "bench password 12345"
OPEN_SURVEY = "bench-open"  # an anonymous link (the bench survey takes invited answers only)
OPEN_SPEC = {
    "slug": OPEN_SURVEY,
    "title": "Bench, open link",
    "department": "support",
    "anonymous_link": True,
    "questions": [{"key": "nps", "type": "nps", "prompt": "How likely are you to recommend us?"}],
}
PAGE = "/dashboards/executive-overview?since=2026-01-01&until=2026-12-31"
EXTRAS_POSTGRES = """
INSERT INTO mentions (source, source_id, via, text, text_norm, text_hash, posted_at, received_at, product,
                      department_id, polarity)
SELECT (ARRAY['twitter', 'reddit', 'appstore'])[1 + i % 3], 'b' || i, 'import', 'a mention', 'a mention',
       md5(i::text), to_timestamp(:start + i::bigint * :span / :m) AT TIME ZONE 'UTC',
       to_timestamp(:start + i::bigint * :span / :m) AT TIME ZONE 'UTC', 'product-' || (i % 20), 1 + i % 5,
       random() * 2 - 1
FROM generate_series(0, :m - 1) AS i;
INSERT INTO analysis_runs (id, state, engine, started_at, finished_at, items_total, items_negative,
                           items_assigned, items_clustered, causes_seen, params)
VALUES (1, 'complete', 'bench', '2026-12-31', '2026-12-31', 0, 0, 0, 0, 0, '{}');
INSERT INTO causes (id, key, name, description, status, origin, keywords, examples, department_id, label,
                    terms, verbatims, size, first_seen_at, last_seen_at, created_at, updated_at)
SELECT i, 'cause-' || i, 'Cause number ' || i, '', 'active', 'taxonomy', '[]', '[]', 1 + i % 5, '', '{}',
       '["a customer said so"]', 100 * i, '2026-01-01', '2026-12-31', '2026-01-01', '2026-12-31'
FROM generate_series(1, 12) AS i;
INSERT INTO cause_ledger (cause_id, run_id, period, period_start, count, share, nps_points_lost,
                          csat_points_lost, first_seen_at, last_seen_at, trend)
SELECT i, 1, '2026-W' || lpad((k + 1)::text, 2, '0'), DATE '2026-01-05' + 7 * k, 10 + (i * k) % 40, 0.01 * i,
       0.1 * i + 0.01 * k, 0.05 * i, '2026-01-01', '2026-12-31', 'steady'
FROM generate_series(1, 12) AS i, generate_series(0, 51) AS k
"""
EXTRAS = """
INSERT INTO mentions (source, source_id, via, text, text_norm, text_hash, posted_at, received_at, product,
                      department_id, polarity)
WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i < :m - 1)
SELECT CASE i % 3 WHEN 0 THEN 'twitter' WHEN 1 THEN 'reddit' ELSE 'appstore' END, 'b' || i, 'import',
       'a mention', 'a mention', printf('%032x', i),
       strftime('%Y-%m-%d %H:%M:%f', :start + i * :span / :m, 'unixepoch') || '000',
       strftime('%Y-%m-%d %H:%M:%f', :start + i * :span / :m, 'unixepoch') || '000',
       'product-' || (i % 20), 1 + i % 5, (abs(random()) % 2001 - 1000) / 1000.0
FROM seq;
INSERT INTO analysis_runs (id, state, engine, started_at, finished_at, items_total, items_negative,
                           items_assigned, items_clustered, causes_seen, params)
VALUES (1, 'complete', 'bench', '2026-12-31 00:00:00', '2026-12-31 00:00:00', 0, 0, 0, 0, 0, '{}');
INSERT INTO causes (id, key, name, description, status, origin, keywords, examples, department_id, label,
                    terms,
                    verbatims, size, first_seen_at, last_seen_at, created_at, updated_at)
WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < 12)
SELECT i, 'cause-' || i, 'Cause number ' || i, '', 'active', 'taxonomy', '[]', '[]', 1 + i % 5, '', '{}',
       '["a customer said so"]', 100 * i, '2026-01-01 00:00:00', '2026-12-31 00:00:00', '2026-01-01 00:00:00',
       '2026-12-31 00:00:00'
FROM seq;
INSERT INTO cause_ledger (cause_id, run_id, period, period_start, count, share, nps_points_lost,
                          csat_points_lost,
                          first_seen_at, last_seen_at, trend)
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 12),
     w(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM w WHERE k < 51)
SELECT i, 1, '2026-W' || printf('%02d', k + 1), date('2026-01-05', '+' || (7 * k) || ' days'),
       10 + (i * k) % 40,
       0.01 * i, 0.1 * i + 0.01 * k, 0.05 * i, '2026-01-01 00:00:00', '2026-12-31 00:00:00', 'steady'
FROM c, w
"""


def add_extras(url: str, rows: int) -> None:
    """N/20 mentions, 12 root causes with a year of weekly ledger rows."""
    engine = make_engine(url)
    extras = EXTRAS if url.startswith("sqlite") else EXTRAS_POSTGRES
    with engine.begin() as connection:
        for statement in extras.split(";"):
            if statement.strip():
                params = {"m": rows // 20, "start": 1_767_225_600, "span": 365 * 86_400}
                connection.execute(text(statement), {k: v for k, v in params.items() if f":{k}" in statement})
    engine.dispose()


def prepare(url: str, rows: int, fresh: bool) -> float:
    """The benchmark database at ``url`` (built when ``fresh``), at the latest schema, with an admin login."""
    started = time.perf_counter()
    if fresh:
        fill(url, rows)
        add_extras(url, rows)
        recount(url)
    upgrade_database(url)
    engine = make_engine(url)
    with engine.begin() as connection:
        bare = connection.execute(text("SELECT count(*) FROM causes")).scalar() == 0
        # Comments of a database filled before bench_metrics.py marked them: else the server's writer
        # scores them all again in the background while the views are timed.
        connection.execute(
            text("UPDATE answers SET analyzer = 'bench' WHERE analyzer IS NULL AND text IS NOT NULL")
        )
    engine.dispose()
    if bare:  # a metrics database of bench_metrics.py (e.g. a kept 10M file): add the rest, count mentions
        add_extras(url, rows)
        engine = make_engine(url)
        with engine.begin() as connection:
            rollups.rebuild_mentions(connection)
        engine.dispose()
    engine = make_engine(url)
    with transaction(make_sessionmaker(engine)) as session:
        if session.execute(text("SELECT 1 FROM users WHERE email = :e"), {"e": EMAIL}).first() is None:
            create_user(session, EMAIL, "Bench Admin", PASSWORD, Role.ADMIN)
        if session.execute(text("SELECT 1 FROM surveys WHERE slug = :s"), {"s": OPEN_SURVEY}).first() is None:
            if not url.startswith("sqlite"):  # the fill gave ids of its own: move the sequences past them
                for table in ("surveys", "questions"):
                    session.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                            f"(SELECT max(id) FROM {table}))"
                        )
                    )
            load_survey(session, parse_survey_spec(OPEN_SPEC))  # what "after new data" answers
    engine.dispose()
    return time.perf_counter() - started


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(url: str, cache_s: float, workers: int = 1) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "FEEDBACK_DATABASE_URL": url,
        "FEEDBACK_BASE_URL": base,
        "FEEDBACK_DASHBOARD_CACHE_S": str(cache_s),
        "FEEDBACK_SECRET_KEY": "bench-secret",
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "feedback.web.app:create_app",
            "--factory",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--log-level",
            "warning",
        ],
        env=env,
    )
    for _ in range(200):
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return server, base
        except httpx.HTTPError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError("the server did not start")


def sign_in(client: httpx.Client) -> None:
    page = client.get("/login")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert token, page.text
    answer = client.post("/login", data={"email": EMAIL, "password": PASSWORD, "_csrf_token": token.group(1)})
    assert answer.status_code in (200, 303), answer.text


def server_times(base: str, views: int) -> list[float]:
    with httpx.Client(base_url=base, timeout=300, follow_redirects=True) as client:
        sign_in(client)
        times = []
        for _ in range(views):
            started = time.perf_counter()
            answer = client.get(PAGE)
            times.append(time.perf_counter() - started)
            assert answer.status_code == 200 and "figure-data" in answer.text, answer.text[:500]
        return times


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of process ``pid`` and its descendants (Linux /proc)."""
    parents: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended meanwhile
        parents[int(stat.parent.name)] = int(fields[1])
        ticks[int(stat.parent.name)] = int(fields[11]) + int(fields[12])
    tree, grown = {pid}, True
    while grown:
        more = {child for child, parent in parents.items() if parent in tree} - tree
        tree |= more
        grown = bool(more)
    return sum(ticks.get(p, 0) for p in tree) / os.sysconf("SC_CLK_TCK")


def after_new_data_times(url: str, base: str, views: int, server_pid: int) -> tuple[list[float], list[float]]:
    """Each view right after one more response was stored (through the service, as the API stores it),
    later than every other, so that the page's data changed: wall time at the client, and the CPU time
    the server's processes spent meanwhile (robust on a shared machine; PostgreSQL's own not included)."""
    from feedback.responses.store import Stored, SurveyCache, store_batch
    from feedback.responses.submissions import Submission

    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    with sessions() as session:  # after every response, also those of an earlier run on a kept database
        newest = session.scalar(select(func.max(Response.submitted_at)))
    start = max(datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC), newest or datetime.min.replace(tzinfo=UTC))
    times, cpus = [], []
    with httpx.Client(base_url=base, timeout=300, follow_redirects=True) as client:
        sign_in(client)
        for i in range(views):
            at = start + timedelta(milliseconds=i + 1)
            new = Submission(
                answers={"nps": 9},
                via="api",
                submitted_at=at,
                survey_slug=OPEN_SURVEY,
                context={"channel": "phone", "product": "product-1"},
            )
            [stored] = store_batch(sessions, [new], SurveyCache(), 5000)
            assert isinstance(stored, Stored), stored
            time.sleep(0.2)  # the server's idle work (the writer's child, timers) out of the figure
            cpu, started = tree_cpu(server_pid), time.perf_counter()
            answer = client.get(PAGE)
            times.append(time.perf_counter() - started)
            cpus.append(tree_cpu(server_pid) - cpu)
            assert answer.status_code == 200 and "figure-data" in answer.text, answer.text[:500]
    engine.dispose()
    return times, cpus


def browser_times(base: str, views: int) -> list[float]:
    from playwright.sync_api import sync_playwright

    args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=args)
        page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
        page.goto(base + "/login?next=" + PAGE.replace("?", "%3F").replace("&", "%26"))
        page.get_by_label("E-mail").fill(EMAIL)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_selector("html[data-charts-drawn]", state="attached", timeout=300_000)
        times = []
        for _ in range(views):
            page.goto(base + PAGE)
            page.wait_for_selector("html[data-charts-drawn]", state="attached", timeout=300_000)
            times.append(float(page.evaluate("window.__chartsDrawnAt")) / 1000)
        browser.close()
        return times


def parallel_views(base: str, clients: int, views: int) -> float:
    """Uncached pages per second with ``clients`` signed-in clients asking at once (what more web workers
    serve)."""
    from concurrent.futures import ThreadPoolExecutor

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(lambda _: server_times(base, views), range(clients)))
    return clients * views / (time.perf_counter() - started)


def measure(url: str, rows: int, views: int, workers: int = 1, uncached: bool = True) -> dict[str, Any]:
    backend = url.split(":", 1)[0].split("+")[0]
    label = f"{backend}, {workers} worker{'s' if workers > 1 else ''}" if backend != "sqlite" else backend
    out: dict[str, Any] = {"backend": label, "rows": rows, "workers": workers}
    server, base = start_server(url, cache_s=60, workers=workers)
    try:
        times = server_times(base, views + 1)
        out["cold_s"], out["cached_p50_s"] = times[0], statistics.median(times[1:])
        out["after_new_data_s"], cpus = after_new_data_times(url, base, views, server.pid)
        out["after_new_data_p50_s"] = statistics.median(out["after_new_data_s"])
        out["after_new_data_server_cpu_p50_s"] = statistics.median(cpus)
        drawn = browser_times(base, views + 1)
        out["browser_drawn_p50_s"], out["browser_first_s"] = statistics.median(drawn[1:]), drawn[0]
    finally:
        server.terminate()
        server.wait(30)
    out["load_average"] = os.getloadavg()[0]
    if not uncached:
        out["uncached_p50_s"] = float("nan")
        return out
    server, base = start_server(url, cache_s=0, workers=workers)
    try:
        times = server_times(base, max(3, views // 3))
        out["uncached_p50_s"] = statistics.median(times)
        out["uncached_pages_per_s_4_clients"] = parallel_views(base, 4, 2)
    finally:
        server.terminate()
        server.wait(30)
    out["load_average"] = os.getloadavg()[0]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", default="100000,1000000")
    parser.add_argument("--views", type=int, default=10)
    parser.add_argument("--keep", type=Path, help="directory for the databases (reused when present)")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--workers", type=int, default=1, help="web worker processes of the server")
    parser.add_argument(
        "--no-uncached", action="store_true", help="skip the views with the cache off (slow at 10M)"
    )
    parser.add_argument(
        "--postgres", action="store_true", help="a private PostgreSQL cluster instead of SQLite"
    )
    parser.add_argument(
        "--postgres-url",
        help="a running PostgreSQL server (postgresql://user@host:port): its databases bench_N are reused "
        "when they hold data, built otherwise",
    )
    args = parser.parse_args()
    sizes = [int(r) for r in args.rows.split(",")]
    results = []
    if args.postgres_url:
        admin = make_engine(f"{args.postgres_url}/postgres", isolation_level="AUTOCOMMIT")
        for n in sizes:
            with admin.connect() as connection:
                exists = connection.exec_driver_sql(
                    f"SELECT 1 FROM pg_database WHERE datname = 'bench_{n}'"
                ).first()
                if not exists:
                    connection.exec_driver_sql(f"CREATE DATABASE bench_{n}")
            url = f"{args.postgres_url}/bench_{n}"
            prepared = prepare(url, n, fresh=not exists)
            results.append(
                {**measure(url, n, args.views, args.workers, not args.no_uncached), "prepare_s": prepared}
            )
            print(json.dumps(results[-1]), flush=True)
        admin.dispose()
    elif args.postgres:
        sys.path.insert(0, str(ROOT))
        from tests.pg_cluster import PgCluster

        cluster = PgCluster(durable=True)
        base = cluster.start()
        try:
            admin = make_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
            for n in sizes:
                with admin.connect() as connection:
                    connection.exec_driver_sql(f"DROP DATABASE IF EXISTS bench_{n}")
                    connection.exec_driver_sql(f"CREATE DATABASE bench_{n}")
                url = f"{base}/bench_{n}"
                prepared = prepare(url, n, fresh=True)
                results.append(
                    {**measure(url, n, args.views, args.workers, not args.no_uncached), "prepare_s": prepared}
                )
                print(json.dumps(results[-1]), flush=True)
            admin.dispose()
        finally:
            cluster.stop()
    else:
        workdir = args.keep or Path(tempfile.mkdtemp(prefix="bench-dashboards-"))
        workdir.mkdir(parents=True, exist_ok=True)
        for n in sizes:
            path = workdir / f"dashboards-{n}.db"
            prepared = prepare(f"sqlite:///{path}", n, fresh=not path.exists())
            results.append(
                {
                    **measure(f"sqlite:///{path}", n, args.views, args.workers, not args.no_uncached),
                    "prepare_s": prepared,
                }
            )
            print(json.dumps(results[-1]), flush=True)
    print(
        "\n| backend | responses | server, cached (p50) | server, first view after new data (p50) "
        "| server CPU, first view after new data (p50) | server, first view after start "
        "| server, uncached (p50) "
        "| browser: navigation to all charts drawn (p50) | load average |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['backend']} | {r['rows']:,} | {r['cached_p50_s'] * 1000:.0f} ms "
            f"| {r['after_new_data_p50_s'] * 1000:.0f} ms "
            f"| {r['after_new_data_server_cpu_p50_s'] * 1000:.0f} ms "
            f"| {r['cold_s']:.2f} s "
            f"| {r['uncached_p50_s']:.2f} s "
            f"| {r['browser_drawn_p50_s'] * 1000:.0f} ms | {r['load_average']:.1f} |"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
