"""What one batch of the response writer costs against its size: the fixed cost of a batch and the cost of
each submission in it.

The writer stores whatever has queued up as one batch (responses/writer.py), so under load the batch size
follows the connections each worker holds, and each submission carries a share of the batch's fixed
cost (a transaction, its look-ups, one insert per table, the rollups' upsert, the commit). This calls
``store_batch`` in this process, nothing else running, on a fresh database: SQLite in a temporary
directory, or with --postgres a private cluster on 127.0.0.1 (tests/pg_cluster.py). Each submission is
the one bench_submissions.py sends (NPS, CSAT, a choice, a 20-60 word comment, an Idempotency-Key).
CPU is this process's (the database server's is not in it); wall time includes the waits on the database.
The fixed cost and the cost per submission are the least-squares line through the sizes' CPU figures.

    python bench/bench_writer_batches.py                       # SQLite, batches of 1, 4, 16, 32 and 64
    python bench/bench_writer_batches.py --postgres --rounds 3
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_submissions import SURVEY_SLUG, Server, comment_pools  # noqa: E402

SUBMISSIONS_PER_SIZE = 1600  # each size stores this many (at least 40 batches)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 4, 16, 32, 64])
    parser.add_argument("--rounds", type=int, default=2, help="rounds over the sizes; medians shown")
    parser.add_argument("--postgres", action="store_true", help="a private PostgreSQL cluster, not SQLite")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="feedback-bench-"))
    cluster = None
    url = None
    if args.postgres:
        from tests.pg_cluster import PgCluster

        cluster = PgCluster(durable=True)
        url = f"{cluster.start()}/postgres"
    try:
        server = Server(workdir, {}, url)
        server.prepare()  # the schema, a department and the benchmark's survey, through the CLI
        os.environ["FEEDBACK_DATABASE_URL"] = server.database_url
        measure(server.database_url, args.sizes, args.rounds)
    finally:
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def measure(url: str, sizes: list[int], rounds: int) -> None:
    from feedback.db import make_engine, make_sessionmaker
    from feedback.responses.store import SurveyCache, store_batch
    from feedback.responses.submissions import Submission

    engine = make_engine(url, keyed=True)  # as the writer opens it
    factory = make_sessionmaker(engine)
    cache = SurveyCache()
    pools = comment_pools()
    rng = random.Random(15)

    def submission() -> Submission:
        return Submission(
            answers={
                "nps": rng.randint(0, 10),
                "csat": rng.randint(1, 5),
                "contact": rng.choice(["phone", "chat", "store"]),
                "comment": " ".join(rng.choice(pool) for pool in pools),
            },
            via="api",
            submitted_at=datetime.now(UTC),
            survey_slug=SURVEY_SLUG,
            idempotency_key=str(uuid.uuid4()),
        )

    for _ in range(50):  # warm up: connections, compiled statements, the survey cache
        store_batch(factory, [submission() for _ in range(8)], cache, 5000)
    figures: dict[int, list[tuple[float, float]]] = {size: [] for size in sizes}
    for _ in range(rounds):
        for size in sizes:
            count = max(40, SUBMISSIONS_PER_SIZE // size)
            batches = [[submission() for _ in range(size)] for _ in range(count)]
            wall, cpu = time.perf_counter(), time.process_time()
            for batch in batches:
                store_batch(factory, batch, cache, 5000)
            figures[size].append(
                ((time.perf_counter() - wall) / len(batches), (time.process_time() - cpu) / len(batches))
            )
    engine.dispose()

    print(f"store_batch on {engine.dialect.name}, median of {rounds} round(s)\n")
    print("| submissions per batch | wall ms per batch | CPU ms per batch | CPU µs per submission |")
    print("|---:|---:|---:|---:|")
    cpu_ms = []
    for size in sizes:
        wall_ms = statistics.median(w for w, _ in figures[size]) * 1e3
        cpu_ms.append(statistics.median(c for _, c in figures[size]) * 1e3)
        print(f"| {size} | {wall_ms:.2f} | {cpu_ms[-1]:.2f} | {cpu_ms[-1] / size * 1e3:.0f} |")
    if len(sizes) > 1:
        slope, intercept = statistics.linear_regression(sizes, cpu_ms)
        print(f"\nCPU per batch ≈ {intercept:.2f} ms + {slope * 1e3:.0f} µs x submissions (least squares)")


if __name__ == "__main__":
    main()
