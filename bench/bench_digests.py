"""Digests for 50 departments over a 1,000,000-response database, charts included: how long, and where.

The database is built by the real migrations and filled inside the database (SQLite: INSERT ... SELECT from a
recursive CTE; PostgreSQL: generate_series):

- N responses over 2026 across 50 departments (NPS, CSAT, CES), a comment on 40% of them;
- 10 causes per department (500), a weekly ledger row per cause for every week of 2026 (26,500 rows), and
  the negative comments of the last five weeks assigned to their department's causes; the rollups recounted
  from those rows (as the response writer keeps them), which the headline numbers and the trend read;
- each department: a Monday 08:00 schedule, two heads, a noise budget of 5.

Then one scheduler run at Monday 2027-01-04 08:05 (``schedule.run_due``, what the digest job calls): 50
digests claimed, built (headline metrics and a 12-week trend for all departments, causes ranked from the
ledger, verbatims redacted, action links signed), 100 charts drawn to PNG in one Chromium session, stored, and
100 e-mails delivered to a local SMTP server (aiosmtpd). Each repeat starts from no digest runs.

    python bench/bench_digests.py                         # 1,000,000 responses, SQLite
    python bench/bench_digests.py --rows 1000000 --postgres
    python bench/bench_digests.py --keep /tmp/bench        # keep (and reuse) the SQLite file
    python bench/bench_digests.py --rows 10000 --repeat 1 --json digests.json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for tests.pg_cluster and the SMTP server of the tests

from tests.digests.servers import smtp_server  # noqa: E402

from feedback.config import Settings  # noqa: E402
from feedback.db import make_engine, make_sessionmaker, transaction, upgrade_database  # noqa: E402
from feedback.departments.service import DepartmentSpec, upsert_department  # noqa: E402
from feedback.digests import schedule  # noqa: E402
from feedback.metrics import rollups  # noqa: E402
from feedback.models import (  # noqa: E402
    Alert,
    AlertCooldown,
    CauseEvent,
    CauseFollowup,
    CauseLedger,
    Delivery,
    DigestChart,
    DigestRun,
)

DEPARTMENTS = 50
CAUSES = 10
START = 1_767_225_600  # 2026-01-01 00:00 UTC
YEAR = 365 * 86_400
NOW = datetime(2027, 1, 4, 8, 5, tzinfo=UTC)  # a Monday, five minutes after the digests were due

SETUP = """
INSERT INTO surveys (id, slug, title, intro, thank_you, department_id, status, created_at, updated_at) VALUES
  (1, 'bench', 'Bench', '', '', 1, 'open', '2026-01-01 00:00:00', '2026-01-01 00:00:00');
INSERT INTO questions (id, survey_id, position, key, kind, prompt, required) VALUES
  (1, 1, 3, 'comment', 'text', 'Anything else?', false),
  (2, 1, 0, 'nps', 'nps', 'Would you recommend us?', false),
  (3, 1, 1, 'csat', 'csat', 'How satisfied are you?', false),
  (4, 1, 2, 'ces', 'ces', 'How easy was it?', false);
INSERT INTO analysis_runs (id, state, engine, started_at, finished_at, items_total, items_negative,
                           items_assigned, items_clustered, causes_seen, params)
VALUES (1, 'complete', 'bench', '2027-01-04 06:00:00', '2027-01-04 06:10:00', 0, 0, 0, 0, 0, '{}')
"""

COMMENTS = (
    "The refund took three weeks, call me on +49 30 1234567",
    "Parcel left outside in the rain again",
    "Nobody answered the chat, my email is someone@example.com",
    "Charged twice on card 4111 1111 1111 1111",
    "Great help, thank you",
)

SQLITE_FILL = """
INSERT INTO responses (id, survey_id, via, submitted_at, nps, csat, ces, channel, department_id)
WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i < :n - 1),
     r AS (SELECT i, abs(random()) AS a, abs(random()) AS b FROM seq)
SELECT printf('%012x', i) || lower(hex(randomblob(10))), 1, 'api',
       strftime('%Y-%m-%d %H:%M:%f', :start + i * :span / :n, 'unixepoch') || '000',
       a % 11, 1 + b % 5, 1 + (a / 11) % 7,
       CASE (b / 5) % 4 WHEN 0 THEN 'phone' WHEN 1 THEN 'email' WHEN 2 THEN 'chat' ELSE 'web' END,
       1 + (a / 13) % 50
FROM r;
INSERT INTO answers (response_id, question_id, text, polarity)
SELECT id, 1,
       CASE abs(random()) % 5 WHEN 0 THEN :c0 WHEN 1 THEN :c1 WHEN 2 THEN :c2 WHEN 3 THEN :c3 ELSE :c4 END,
       (abs(random()) % 2001 - 1000) / 1000.0
FROM responses WHERE abs(random()) % 10 < 4;
INSERT INTO cause_assignments (run_id, cause_id, item_kind, response_id, question_id, department_id,
                               occurred_at, confidence, method)
SELECT 1, (r.department_id - 1) * 10 + 1 + abs(random()) % 10, 'answer', r.id, 1, r.department_id,
       r.submitted_at, 0.5 + (abs(random()) % 50) / 100.0, 'taxonomy'
FROM responses r JOIN answers a ON a.response_id = r.id
WHERE r.submitted_at >= '2026-11-30' AND r.nps <= 6
"""

POSTGRES_FILL = """
INSERT INTO responses (id, survey_id, via, submitted_at, nps, csat, ces, channel, department_id)
SELECT md5(i::text)::uuid, 1, 'api', to_timestamp(:start + i::bigint * :span / :n) AT TIME ZONE 'UTC',
       floor(random() * 11)::int, 1 + floor(random() * 5)::int, 1 + floor(random() * 7)::int,
       (ARRAY['phone', 'email', 'chat', 'web'])[1 + floor(random() * 4)::int], 1 + floor(random() * 50)::int
FROM generate_series(0, :n - 1) AS i;
INSERT INTO answers (response_id, question_id, text, polarity)
SELECT id, 1, (ARRAY[:c0, :c1, :c2, :c3, :c4])[1 + floor(random() * 5)::int], random() * 2 - 1
FROM responses WHERE random() < 0.4;
INSERT INTO cause_assignments (run_id, cause_id, item_kind, response_id, question_id, department_id,
                               occurred_at, confidence, method)
SELECT 1, (r.department_id - 1) * 10 + 1 + floor(random() * 10)::int, 'answer', r.id, 1, r.department_id,
       r.submitted_at, 0.5 + random() / 2, 'taxonomy'
FROM responses r JOIN answers a ON a.response_id = r.id
WHERE r.submitted_at >= '2026-11-30' AND r.nps <= 6;
ANALYZE
"""


def _departments(url: str) -> None:
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    with transaction(sessions) as session:
        for d in range(1, DEPARTMENTS + 1):
            spec = DepartmentSpec(
                slug=f"dept-{d:02d}", name=f"Department {d}", timezone="UTC", digest_schedule="0 8 * * mon",
                noise_budget=5, heads=[], channels=[],
            )  # fmt: skip
            upsert_department(session, spec, now=datetime(2026, 1, 1, tzinfo=UTC))
    engine.dispose()


def _causes(url: str) -> None:
    engine = make_engine(url)
    rng = random.Random(7)
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO department_heads (department_id, name, email) VALUES (:d, :name, :email)"),
            [
                {"d": d, "name": f"Head {h}", "email": f"head{h}.dept{d}@example.com"}
                for d in range(1, DEPARTMENTS + 1)
                for h in (1, 2)
            ],
        )
        connection.execute(
            text(
                "INSERT INTO causes (id, key, name, description, status, origin, keywords, examples, "
                "department_id, label, terms, verbatims, size, first_seen_at, created_at, updated_at) VALUES "
                "(:id, :key, :name, '', 'active', 'taxonomy', '[]', '[]', :d, '', '{}', '[]', 0, "
                "'2026-01-05 00:00:00', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
            ),
            [
                {
                    "id": (d - 1) * CAUSES + c,
                    "key": f"d{d}-c{c}",
                    "name": f"Problem {c} of department {d}",
                    "d": d,
                }
                for d in range(1, DEPARTMENTS + 1)
                for c in range(1, CAUSES + 1)
            ],
        )
        mondays = [date(2025, 12, 29) + timedelta(weeks=w) for w in range(53)]
        rows = []
        for cause in range(1, DEPARTMENTS * CAUSES + 1):
            for w, monday in enumerate(mondays):
                year, week, _ = monday.isocalendar()
                count = max(0, int(rng.gauss(20 + cause % 7 * 5, 6)))
                rows.append({
                    "cause_id": cause, "run_id": 1, "period": f"{year}-W{week:02d}", "period_start": monday,
                    "count": count, "share": count / 2000, "nps_points_lost": round(rng.uniform(0, 3), 3),
                    "csat_points_lost": None, "first_seen_at": datetime(2026, 1, 5, tzinfo=UTC),
                    "last_seen_at": datetime.combine(monday, datetime.min.time(), UTC) + timedelta(days=6),
                    "trend": "new" if w == 0 else rng.choice(["steady", "growing", "shrinking", "steady"]),
                })  # fmt: skip
        connection.execute(insert(CauseLedger.__table__), rows)
    engine.dispose()


def fill(url: str, rows: int) -> float:
    """Migrate and fill the database at ``url``; seconds taken."""
    started = time.perf_counter()
    upgrade_database(url)
    _departments(url)
    engine = make_engine(url)
    script = SQLITE_FILL if url.startswith("sqlite") else POSTGRES_FILL
    params: dict[str, Any] = {"n": rows, "start": START, "span": YEAR}
    params.update({f"c{i}": c for i, c in enumerate(COMMENTS)})
    with engine.begin() as connection:
        if url.startswith("sqlite"):
            connection.exec_driver_sql("PRAGMA synchronous=OFF")
        for statement in SETUP.split(";"):
            if statement.strip():
                connection.execute(text(statement))
    engine.dispose()
    _causes(url)
    engine = make_engine(url)
    with engine.begin() as connection:
        if url.startswith("sqlite"):
            connection.exec_driver_sql("PRAGMA synchronous=OFF")
        for statement in script.split(";"):
            if statement.strip():
                connection.execute(text(statement), {k: v for k, v in params.items() if f":{k}" in statement})
        rollups.rebuild(connection)  # what the writer keeps as it stores: the digests' numbers read them
    engine.dispose()
    return time.perf_counter() - started


def _reset(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as connection:
        for model in (Delivery, DigestChart, DigestRun, Alert, AlertCooldown, CauseFollowup):
            connection.execute(delete(model.__table__))
        connection.execute(delete(CauseEvent.__table__).where(CauseEvent.kind == "reported"))
    engine.dispose()


def _timed(name: str, spent: dict[str, float], function: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent[name] = spent.get(name, 0.0) + time.perf_counter() - started

    return wrapper


def measure(url: str, repeat: int) -> dict[str, Any]:
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    totals, parts, cpus = [], [], []
    built = sent = images = 0
    originals = {name: getattr(schedule, name) for name in ("build_digests", "render_pngs", "deliver_due")}
    with smtp_server() as smtp:
        settings = Settings(
            database_url=url, base_url="http://feedback.example", secret_key="bench", smtp_host="127.0.0.1",
            smtp_port=smtp.port, smtp_security="none", digest_charts=True,
        )  # fmt: skip
        for _ in range(repeat):
            _reset(url)
            smtp.inbox.clear()
            spent: dict[str, float] = {}
            for name, function in originals.items():
                setattr(schedule, name, _timed(name, spent, function))
            try:
                started, cpu = time.perf_counter(), time.process_time()
                report = schedule.run_due(sessions, settings, NOW)
                totals.append(time.perf_counter() - started)
                cpus.append(time.process_time() - cpu)
            finally:
                for name, function in originals.items():
                    setattr(schedule, name, function)
            parts.append(spent)
            built, sent = len(report.built), report.deliveries.sent
            with sessions() as session:
                images = len(session.execute(text("SELECT id FROM digest_charts")).all())
            assert len(smtp.inbox) == sent
    engine.dispose()
    best = min(range(len(totals)), key=lambda i: totals[i])
    return {
        "digests": built,
        "emails_sent": sent,
        "charts": images,
        "total_s": round(statistics.median(totals), 2),
        "best_total_s": round(totals[best], 2),
        "build_s": round(statistics.median(p.get("build_digests", 0.0) for p in parts), 2),
        "charts_s": round(statistics.median(p.get("render_pngs", 0.0) for p in parts), 2),
        "deliver_s": round(statistics.median(p.get("deliver_due", 0.0) for p in parts), 2),
        "cpu_s_this_process": round(statistics.median(cpus), 2),
        "load_average": round(os.getloadavg()[0], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--postgres", action="store_true", help="also on a private PostgreSQL cluster")
    parser.add_argument("--keep", type=Path, help="directory for the SQLite file (reused when present)")
    parser.add_argument("--json", type=Path, help="also write the figures here (a list, one per backend)")
    args = parser.parse_args()
    results: list[dict[str, Any]] = []
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="bench-digests-"))
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / f"digests-{args.rows}.db"
    fill_s = 0.0 if path.exists() else fill(f"sqlite:///{path}", args.rows)
    result = {"backend": "sqlite", "rows": args.rows, "fill_s": round(fill_s, 1)}
    results.append({**result, **measure(f"sqlite:///{path}", args.repeat)})
    print(json.dumps(results[-1]), flush=True)
    if not args.keep:
        path.unlink()
    if args.postgres:
        from tests.pg_cluster import PgCluster

        cluster = PgCluster(durable=True)
        base = cluster.start()
        try:
            admin = make_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.exec_driver_sql("CREATE DATABASE bench_digests")
            admin.dispose()
            url = f"{base}/bench_digests"
            fill_s = fill(url, args.rows)
            result = {"backend": "postgresql", "rows": args.rows, "fill_s": round(fill_s, 1)}
            results.append({**result, **measure(url, args.repeat)})
            print(json.dumps(results[-1]), flush=True)
        finally:
            cluster.stop()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
