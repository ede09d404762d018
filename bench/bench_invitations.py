"""Bulk invitation import from CSV: rows/s through the CLI and through the service function.

For each size, a fresh database (SQLite in a temporary directory; PostgreSQL with --postgres, a private
cluster on 127.0.0.1 started with tests/pg_cluster.py) gets a department and a survey, then:

- cli: `feedback invitations import bench FILE.csv --links LINKS.csv` in a new process; "cli" counts
  from the command's start to its end (interpreter start-up and imports included), "cli (import)"
  is the time the command itself reports for the import (reading the CSV, checking every row, storing,
  committing, writing the links file);
- service: import_invitations() in this process on rows from read_csv() (as the command reads them),
  links written to a CSV file as the command does, in one transaction.

Each row is realistic: an e-mail, a customer id, an interaction id and the interaction's context
(department, channel, product, team, agent, region, handle and wait times, first-contact resolution).

    python bench/bench_invitations.py                         # 10k, 100k and 1M rows on SQLite
    python bench/bench_invitations.py --rows 10000 100000 --postgres
    python bench/bench_invitations.py --rows 100000 --postgres --no-sqlite
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

FEEDBACK = [sys.executable, "-c", "from feedback.cli import main; main()"]  # the `feedback` command
# The same, writing its peak resident memory (VmHWM: this process's own, not the ru_maxrss that Linux
# carries over from the parent at exec) to the file named by BENCH_PEAK_FILE when it exits.
FEEDBACK_MEASURED = [
    sys.executable,
    "-c",
    "import atexit, os\n"
    "def peak():\n"
    "    with open('/proc/self/status') as s, open(os.environ['BENCH_PEAK_FILE'], 'w') as out:\n"
    "        out.write(next(line for line in s if line.startswith('VmHWM')).split()[1])\n"
    "atexit.register(peak)\n"
    "from feedback.cli import main; main()",
]
REPO = Path(__file__).resolve().parent.parent
SURVEY_TOML = """\
slug = "bench"
title = "How did we do?"
department = "support"

[[questions]]
key = "nps"
type = "nps"
prompt = "How likely are you to recommend us to a friend or colleague?"
required = true
"""
DEPARTMENTS = ("support", "billing", "delivery", "sales")
COLUMNS = (
    "email",
    "customer_id",
    "interaction_id",
    "department",
    "channel",
    "product",
    "team",
    "agent",
    "region",
    "handle_time_s",
    "wait_time_s",
    "first_contact_resolved",
)
_FIRST = ("anna", "ben", "chloe", "david", "emma", "felix", "grace", "hugo", "ines", "jonas", "kate", "liam")
_LAST = ("smith", "meyer", "garcia", "rossi", "novak", "dubois", "jansen", "silva", "nowak", "berg")
_DOMAINS = ("example.com", "mail.example.org", "customer.example.net", "example.co.uk")
_CHANNELS = ("phone", "chat", "e-mail", "store", "app")
_PRODUCTS = ("Basic plan", "Pro plan", "Family plan", "Router X2", "Fibre 1000", "Mobile S")
_REGIONS = ("north", "south", "east", "west", "central")


def csv_rows(count: int, seed: int = 11) -> Iterator[list[str]]:
    rng = random.Random(seed)
    for n in range(count):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        yield [
            f"{first}.{last}{n}@{rng.choice(_DOMAINS)}",
            f"C{rng.randrange(10**7):07d}",
            f"T-{n:08d}",
            rng.choice(DEPARTMENTS),
            rng.choice(_CHANNELS),
            rng.choice(_PRODUCTS),
            f"team {rng.randrange(12) + 1}",
            f"agent {rng.randrange(300) + 1:03d}",
            rng.choice(_REGIONS),
            str(rng.randrange(60, 3600)),
            str(rng.randrange(0, 900)),
            rng.choice(("yes", "no", "")),
        ]


def write_csv(path: Path, count: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        writer.writerows(csv_rows(count))


@dataclass
class Result:
    backend: str
    rows: int
    path: str  # cli (whole command), cli (import, as reported), service function
    seconds: float
    created: int
    cpu_us_per_row: float = 0.0  # CPU of the importing process (all its threads) per row
    other_cpu: float = 0.0  # cores used meanwhile by the rest of the machine (noise; PostgreSQL's included)
    peak_rss_mb: float = 0.0  # the command's peak resident memory (cli only: a fresh process per run)
    load: float = 0.0  # the machine's 1-minute load average at the end
    main_us_per_row: float = 0.0  # service only: CPU of the reading and checking (main) thread per row
    store_us_per_row: float = 0.0  # service only: CPU of the other threads (storing) per row
    server_us_per_row: float = 0.0  # PostgreSQL only: CPU of the server's processes per row

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds


class Meter:
    """CPU of this process and its waited-for children, and of the whole machine, over a block."""

    def __enter__(self) -> Meter:
        self.started = time.perf_counter()
        self.ours = self._ours()
        self.machine = self._machine()
        return self

    def __exit__(self, *_: object) -> None:
        self.wall = time.perf_counter() - self.started
        self.cpu = self._ours() - self.ours
        self.other = max(0.0, (self._machine() - self.machine - self.cpu) / self.wall)

    @staticmethod
    def _ours() -> float:
        own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime

    @staticmethod
    def _machine() -> float:
        fields = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
        return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")  # all but idle and iowait


def _env(url: str, workdir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "FEEDBACK_DATABASE_URL": url,
        "FEEDBACK_BASE_URL": "https://feedback.example.com",
        "FEEDBACK_LOG_LEVEL": "WARNING",
        "FEEDBACK_DATA_DIR": str(workdir),
    }


def _feedback(env: dict[str, str], *args: str, timeout: float = 1800) -> str:
    done = subprocess.run(
        [*FEEDBACK, *args], env=env, check=True, capture_output=True, text=True, timeout=timeout
    )
    return done.stdout


def prepare(url: str, workdir: Path) -> dict[str, str]:
    env = _env(url, workdir)
    (workdir / "survey.toml").write_text(SURVEY_TOML)
    _feedback(env, "db", "upgrade")
    for slug in DEPARTMENTS:
        _feedback(env, "departments", "add", slug, slug.title())
    _feedback(env, "surveys", "load", str(workdir / "survey.toml"))
    return env


def via_cli(env: dict[str, str], csv_path: Path, workdir: Path) -> tuple[float, float, int, float]:
    """Wall seconds of the command, the seconds it reports for the import, rows created, and the
    command's peak resident memory in MB."""
    links = workdir / f"links-cli-{csv_path.stem}.csv"
    args = ["invitations", "import", "bench", str(csv_path), "--links", str(links)]
    peak = workdir / "peak-kb"
    started = time.perf_counter()
    done = subprocess.run(
        [*FEEDBACK_MEASURED, *args],
        env={**env, "BENCH_PEAK_FILE": str(peak)},
        capture_output=True,
        text=True,
        timeout=1800,
    )
    wall = time.perf_counter() - started
    if done.returncode:
        raise RuntimeError(f"feedback {' '.join(args)} failed: {done.stdout}{done.stderr}")
    match = re.search(r"(\d+) invited, .* in ([\d.]+)s", done.stdout)
    if not match:
        raise RuntimeError(f"unexpected output: {done.stdout}")
    return wall, float(match[2]), int(match[1]), int(peak.read_text()) / 1024


def via_service(url: str, csv_path: Path, workdir: Path) -> tuple[float, int, float, float]:
    """Seconds for import_invitations() (one transaction, links written as the CLI does), rows created,
    CPU seconds of the main thread and of the process's other threads (the storing thread) meanwhile."""
    from feedback.db import make_engine, make_sessionmaker, transaction
    from feedback.invitations.reading import read_csv
    from feedback.invitations.service import import_invitations
    from feedback.surveys.service import get_survey

    engine = make_engine(url)
    try:
        started, main_cpu, process_cpu = time.perf_counter(), time.thread_time(), time.process_time()
        with (
            (workdir / f"links-service-{csv_path.stem}.csv").open("w", newline="", encoding="utf-8") as out,
            csv_path.open(newline="", encoding="utf-8-sig") as src,
        ):
            writer = csv.writer(out)

            with transaction(make_sessionmaker(engine)) as session:
                report = import_invitations(
                    session,
                    get_survey(session, "bench"),
                    read_csv(src),
                    base_url="https://feedback.example.com",
                    on_link=writer.writerow,  # as the command writes them
                )
        main_cpu = time.thread_time() - main_cpu
        others = time.process_time() - process_cpu - main_cpu
        return time.perf_counter() - started, report.created, main_cpu, others
    finally:
        engine.dispose()


class Postgres:
    """A private cluster from tests/pg_cluster.py, durable: fsync and full-page writes on (tests turn them
    off), so that a commit costs what it costs on a production server."""

    def __init__(self) -> None:
        sys.path.insert(0, str(REPO))
        from tests.pg_cluster import PgCluster

        self.cluster = PgCluster(durable=True)
        self.base = self.cluster.start()
        self.count = 0
        from sqlalchemy import create_engine

        admin = create_engine(
            f"postgresql+psycopg://{self.base.split('://', 1)[1]}/postgres", isolation_level="AUTOCOMMIT"
        )
        self.admin = admin

    def database(self) -> str:
        from sqlalchemy import text

        self.count += 1
        name = f"bench_{self.count}"
        with self.admin.connect() as connection:
            connection.execute(text(f"CREATE DATABASE {name}"))
        return f"{self.base}/{name}"

    def cpu(self) -> float:
        """CPU seconds the cluster's processes have used so far, those that ended (backends) included: the
        postmaster's own, its children's, and what it was credited when it reaped the ended ones."""
        postmaster = int((self.cluster.data / "postmaster.pid").read_text().split()[0])
        ticks = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:  # ended meanwhile
                continue
            if int(stat.parent.name) == postmaster:
                ticks += sum(int(n) for n in fields[11:15])  # utime, stime, cutime, cstime
            elif int(fields[1]) == postmaster:
                ticks += int(fields[11]) + int(fields[12])
        return ticks / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.admin.dispose()
        self.cluster.stop()


def bench(sizes: Sequence[int], postgres: bool, paths: Sequence[str], sqlite: bool = True) -> list[Result]:
    root = Path(tempfile.mkdtemp(prefix="feedback-bench-invitations-"))
    results: list[Result] = []
    pg = Postgres() if postgres else None
    try:
        for size in sizes:
            csv_path = root / f"invitations-{size}.csv"
            write_csv(csv_path, size)
            backends = (["sqlite"] if sqlite else []) + (["postgresql"] if pg else [])
            for backend in backends:
                for path in paths:
                    workdir = Path(tempfile.mkdtemp(dir=root))
                    if backend == "sqlite":
                        url = f"sqlite:///{workdir / 'feedback.db'}"
                    else:
                        assert pg is not None
                        url = pg.database()
                    env = prepare(url, workdir)
                    rss = 0.0
                    server = pg.cpu() if pg is not None and backend == "postgresql" else None
                    with Meter() as meter:
                        if path == "cli":
                            wall, reported, created, rss = via_cli(env, csv_path, workdir)
                        else:
                            seconds, created, main_cpu, store_cpu = via_service(url, csv_path, workdir)
                    cpu, other, load = meter.cpu / size * 1e6, meter.other, os.getloadavg()[0]
                    if server is not None:
                        assert pg is not None
                        time.sleep(0.5)  # the backend's exit, for the postmaster to count it
                        server = (pg.cpu() - server) / size * 1e6
                    if path == "cli":
                        results.append(
                            Result(backend, size, "cli (whole command)", wall, created, cpu, other, rss, load)
                        )
                        results.append(
                            Result(
                                backend,
                                size,
                                "cli (import, as reported)",
                                reported,
                                created,
                                cpu,
                                other,
                                rss,
                                load,
                            )
                        )
                    else:
                        results.append(
                            Result(
                                backend,
                                size,
                                "service function",
                                seconds,
                                created,
                                cpu,
                                other,
                                load=load,
                                main_us_per_row=main_cpu / size * 1e6,
                                store_us_per_row=store_cpu / size * 1e6,
                            )
                        )
                    if server is not None:
                        for r in results[-2 if path == "cli" else -1 :]:
                            r.server_us_per_row = server
                    for r in results[-2 if path == "cli" else -1 :]:
                        print(
                            f"{r.backend:<10} {r.rows:>9,} {r.path:<26} {r.seconds:>8.2f} s "
                            f"{r.rows_per_s:>10,.0f} rows/s  ({r.created:,} created, "
                            f"{r.cpu_us_per_row:.0f} us CPU/row, {r.other_cpu:.2f} other cores"
                            + (f", peak RSS {r.peak_rss_mb:.0f} MB" if r.peak_rss_mb else "")
                            + (
                                f", main thread {r.main_us_per_row:.1f} us/row, storing thread "
                                f"{r.store_us_per_row:.1f} us/row"
                                if r.main_us_per_row
                                else ""
                            )
                            + (f", server {r.server_us_per_row:.1f} us/row" if r.server_us_per_row else "")
                            + f", load {r.load:.2f})",
                            flush=True,
                        )
                    if backend == "sqlite":
                        shutil.rmtree(workdir, ignore_errors=True)
            csv_path.unlink()
    finally:
        if pg is not None:
            pg.stop()
        shutil.rmtree(root, ignore_errors=True)
    return results


def table(results: list[Result]) -> str:
    lines = [
        "| database | rows | measured through | seconds | rows/s | CPU µs/row | main thread µs/row "
        "| storing thread µs/row | PostgreSQL CPU µs/row | other cores | peak RSS MB | load avg |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        rss = f"{r.peak_rss_mb:.0f}" if r.peak_rss_mb else ""
        threads = f"{r.main_us_per_row:.1f} | {r.store_us_per_row:.1f}" if r.main_us_per_row else " | "
        server = f"{r.server_us_per_row:.1f}" if r.server_us_per_row else ""
        lines.append(
            f"| {r.backend} | {r.rows:,} | {r.path} | {r.seconds:.2f} | {r.rows_per_s:,.0f} "
            f"| {r.cpu_us_per_row:.0f} | {threads} | {server} | {r.other_cpu:.2f} | {rss} | {r.load:.2f} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--paths", nargs="+", choices=["cli", "service"], default=["cli", "service"])
    parser.add_argument("--postgres", action="store_true", help="also on a private PostgreSQL cluster")
    parser.add_argument("--no-sqlite", action="store_true", help="with --postgres: PostgreSQL only")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)
    if not all(1 <= n <= 2_000_000 for n in args.rows):
        parser.error("--rows between 1 and 2,000,000")
    results = bench(args.rows, args.postgres, args.paths, sqlite=not args.no_sqlite)
    print()
    print(table(results))
    if args.json:
        figures = [{**asdict(r), "rows_per_s": r.rows_per_s} for r in results]
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
