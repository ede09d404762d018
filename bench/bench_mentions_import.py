"""Importing mentions from a CSV file: rows/s end to end (sentiment included) and peak memory.

For each size (10k, 100k, 1M rows by default) a synthetic CSV of social-media posts is generated (made-up
words, handles, links, hashtags, reposts, a share of copies posted by several accounts; nothing from
shared/data), then `feedback mentions import` runs in a child process on a fresh database (SQLite in a
temporary directory; with --postgres also a private PostgreSQL cluster, fsync on), as an admin would run
it: the file is streamed, prepared by worker processes (all cores) and committed in chunks. The child
reports its wall time and peak resident memory (its own and its workers', from getrusage), and the stored
rows are counted afterwards: every row must be there once.

    python bench/bench_mentions_import.py                        # 10k, 100k, 1M rows
    python bench/bench_mentions_import.py --sizes 10000 100000 --repeat 3 --json out.json
    python bench/bench_mentions_import.py --postgres --sizes 100000 1000000  # SQLite, then PostgreSQL
    python bench/bench_mentions_import.py --database-url postgresql://...   # an empty database of yours
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

OPENERS = ["Just", "Honestly,", "Ugh,", "Wow,", "So", "Well,", "Today", "Again", "Finally", "Hey"]
SUBJECTS = [
    "my order",
    "the app",
    "your support team",
    "the delivery",
    "the new update",
    "my refund",
    "the checkout",
    "customer service",
    "the courier",
    "my account",
    "the store",
    "the parcel",
]
VERBS = ["was", "is", "has been", "seems", "looks", "felt", "got", "arrived", "stayed", "became"]
ADJECTIVES = [
    "great",
    "terrible",
    "late",
    "slow",
    "amazing",
    "broken",
    "fine",
    "awful",
    "helpful",
    "confusing",
    "fast",
    "rude",
    "perfect",
    "disappointing",
    "okay",
    "excellent",
    "useless",
]
TAILS = [
    "thanks a lot",
    "never again",
    "would recommend",
    "please fix this",
    "not happy at all",
    "love it",
    "what a mess",
    "two weeks now",
    "third time this month",
    "five stars",
    "so frustrating",
    "well done",
    "still waiting",
    "best purchase ever",
    "worst experience",
]
TAGS = ["#fail", "#CustomerService", "#happy", "#delivery", "#refund", "#app", "#support"]
SOURCES_HEADER = ["post_id", "user", "created", "body", "link", "followers", "likes", "retweets", "lang"]


def _post(rng: random.Random) -> str:
    words = [rng.choice(OPENERS), rng.choice(SUBJECTS), rng.choice(VERBS), rng.choice(ADJECTIVES)]
    for _ in range(rng.randint(0, 3)):
        words += [
            rng.choice(["and", "but", "because", "so"]),
            rng.choice(SUBJECTS),
            rng.choice(VERBS),
            rng.choice(ADJECTIVES),
        ]
    words.append(rng.choice(TAILS) + rng.choice([".", "!", "!!!", "...", "?"]))
    if rng.random() < 0.3:
        words.insert(rng.randint(0, len(words)), f"@acme_{rng.choice(['help', 'care', 'shop'])}")
    if rng.random() < 0.25:
        words.append(f"https://t.example/{rng.getrandbits(40):x}")
    if rng.random() < 0.3:
        words.append(rng.choice(TAGS))
    return " ".join(words) + f" #{rng.getrandbits(24):x}"  # a unique tag: every post's text differs


def write_csv(path: Path, rows: int, seed: int = 7) -> None:
    """A synthetic export: 10% retweets, 3% copypasta (one text from several accounts), the rest unique."""
    rng = random.Random(seed)
    copies = [_post(rng) for _ in range(50)]
    start = 1_767_225_600  # 2026-01-01
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(SOURCES_HEADER)
        for i in range(rows):
            roll = rng.random()
            text = rng.choice(copies) if roll < 0.03 else _post(rng)
            if 0.03 <= roll < 0.13:
                text = f"RT @user{rng.randint(1, 5000)}: {text}"
            writer.writerow(
                [
                    f"{10**15 + i}",
                    f"user{rng.randint(1, 200_000)}",
                    time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start + i * 7)),
                    text,
                    f"https://social.example/status/{10**15 + i}",
                    rng.randint(0, 50_000),
                    rng.randint(0, 500),
                    rng.randint(0, 100),
                    rng.choice(["en", "en", "en", "es", "de"]),
                ]
            )


CHILD = """
import json, resource, sys, time
from feedback.cli import main
started = time.perf_counter()
try:
    main(sys.argv[1:], standalone_mode=False)
finally:
    seconds = time.perf_counter() - started
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps({"seconds": seconds, "rss_main_kib": me.ru_maxrss, "rss_worker_kib": kids.ru_maxrss,
                      "cpu_s": me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime,
                      "cpu_main_s": me.ru_utime + me.ru_stime}), file=sys.stderr)
"""


@dataclass
class Run:
    backend: str
    rows: int
    file_mib: float
    seconds: float
    rows_per_s: float
    rss_main_mib: float
    rss_worker_mib: float
    cpu_s: float
    cpu_main_s: float
    stored: int


def run_import(
    csv_path: Path, rows: int, database_url: str | None, workdir: Path, workers: int | None
) -> Run:
    url = database_url or f"sqlite:///{workdir / 'bench.db'}"
    env = {**__import__("os").environ, "FEEDBACK_DATABASE_URL": url}
    if database_url is None:
        (workdir / "bench.db").unlink(missing_ok=True)
    subprocess.run(
        [sys.executable, "-c", "from feedback.cli import main; main()", "db", "upgrade"],
        env=env,
        check=True,
        capture_output=True,
    )
    command = [
        sys.executable,
        "-c",
        CHILD,
        "mentions",
        "import",
        str(csv_path),
        "--source",
        "twitter",
        "--map",
        "source_id=post_id",
        "--map",
        "author=user",
        "--map",
        "posted_at=created",
        "--map",
        "text=body",
        "--map",
        "url=link",
        "--map",
        "followers=followers",
        "--map",
        "likes=likes",
        "--map",
        "shares=retweets",
        "--map",
        "lang=lang",
    ]
    if workers is not None:
        command += ["--workers", str(workers)]
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"import failed:\n{done.stdout}\n{done.stderr}")
    figures = json.loads(done.stderr.strip().splitlines()[-1])
    stored = _stored(url)
    if stored != rows:
        raise SystemExit(f"{stored} rows stored for {rows} in the file")
    return Run(
        "sqlite" if url.startswith("sqlite") else "postgresql",
        rows,
        csv_path.stat().st_size / 2**20,
        figures["seconds"],
        rows / figures["seconds"],
        figures["rss_main_kib"] / 1024,
        figures["rss_worker_kib"] / 1024,
        figures["cpu_s"],
        figures["cpu_main_s"],
        stored,
    )


def _stored(url: str) -> int:
    """Mentions in the database: every row of the file must be there once."""
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
            return int(db.execute("SELECT count(*) FROM mentions").fetchone()[0])
    from sqlalchemy import create_engine, text

    engine = create_engine(f"postgresql+psycopg://{url.split('://', 1)[1]}")
    with engine.connect() as connection:
        count = int(connection.scalar(text("SELECT count(*) FROM mentions")) or 0)
    engine.dispose()
    return count


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument(
        "--workers", type=int, help="import worker processes (default: the importer's choice)"
    )
    parser.add_argument("--postgres", action="store_true", help="also on a private PostgreSQL cluster")
    parser.add_argument("--database-url", help="an empty database (default: a fresh SQLite file)")
    parser.add_argument("--json", type=Path, help="also write the runs here")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-mentions-"))
    results: list[Run] = []
    pg = None
    if args.postgres:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from bench_invitations import Postgres  # a private cluster on 127.0.0.1 (tests/pg_cluster.py)

        pg = Postgres()
    try:
        for rows in args.sizes:
            csv_path = workdir / f"mentions-{rows}.csv"
            write_csv(csv_path, rows)
            databases = [lambda: args.database_url] + ([pg.database] if pg is not None else [])
            for database in databases:
                runs = [
                    run_import(csv_path, rows, database(), workdir, args.workers) for _ in range(args.repeat)
                ]
                best = sorted(runs, key=lambda r: r.seconds)[len(runs) // 2]  # the median run
                results.append(best)
                print(
                    f"{best.backend:<10} {rows:>9,} rows ({best.file_mib:6.1f} MiB): {best.seconds:7.1f} s, "
                    f"{best.rows_per_s:>8,.0f} rows/s "
                    f"(runs: {', '.join(f'{r.rows_per_s:,.0f}' for r in runs)}), "
                    f"peak RSS main {best.rss_main_mib:5.0f} MiB, worker {best.rss_worker_mib:5.0f} MiB, "
                    f"CPU {best.cpu_s:6.1f} s (main {best.cpu_main_s:.1f}, "
                    f"workers {best.cpu_s - best.cpu_main_s:.1f}), "
                    f"stored {best.stored:,}",
                    flush=True,
                )
            csv_path.unlink()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        if pg is not None:
            pg.stop()
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=2))
    _ = (resource, statistics)


if __name__ == "__main__":
    main()
