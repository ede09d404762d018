"""Survey submissions through the HTTP API beside routes that do no work, on the same server.

One server process (the app as `feedback serve` serves it, uvicorn, one worker, plus two bench-only routes:
bench/bench_app.py) on a fresh SQLite database in a temporary directory and a free port of 127.0.0.1. At each
connection count wrk loads, one after the other: GET /bench/hello (a constant), POST /bench/echo (the
submission's JSON body decoded and sent back), POST /api/surveys/bench/responses (NPS + CSAT + a choice + a
20-60 word comment, varied per request, a unique Idempotency-Key each) and GET /health (a database query in a
thread). Submissions are judged against the echo route: what the framework costs for a POST of that body.
Every run is bounded by wrk's duration; the server is stopped at the end.

After each submission run the rows stored under that run's keys are counted and checked against what
wrk saw: rows == 201 answers + requests still in flight when wrk stopped (wrk drops those, the server
still stores them).

    python bench/bench_submissions.py                      # 16 and 64 connections, 12 s each
    python bench/bench_submissions.py --repeat 3 --json results.json
    python bench/bench_submissions.py --server-env FEEDBACK_SQLITE_SYNCHRONOUS=NORMAL
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

HOST = "127.0.0.1"
SURVEY_SLUG = "bench"
FEEDBACK = [sys.executable, "-c", "from feedback.cli import main; main()"]  # the `feedback` command

SURVEY_TOML = f"""\
slug = "{SURVEY_SLUG}"
title = "How did we do?"
department = "support"
anonymous_link = true

[[questions]]
key = "nps"
type = "nps"
prompt = "How likely are you to recommend us to a friend or colleague?"
required = true

[[questions]]
key = "csat"
type = "csat"
prompt = "How satisfied are you with how we handled your request?"
required = true

[[questions]]
key = "contact"
type = "choice"
prompt = "How did you contact us?"
choices = ["phone", "e-mail", "chat", "store", "social media"]

[[questions]]
key = "comment"
type = "text"
prompt = "Anything you would like to tell us?"
max_length = 2000
"""

# -- realistic comments -------------------------------------------------------------------------------

_WHO = [
    "the agent",
    "the person on the phone",
    "your support team",
    "the technician",
    "the store manager",
    "the driver",
    "the chat assistant",
    "the lady at the counter",
    "your colleague",
    "the engineer",
]
_ISSUE = [
    "a wrong invoice",
    "a missing parcel",
    "a broken charger",
    "my internet connection",
    "a refund",
    "a double charge on my card",
    "the new contract",
    "a delayed delivery",
    "my account password",
    "a damaged sofa",
    "the warranty claim",
    "a cancelled order",
    "my flight booking",
    "the app login",
]
_GOOD = [
    "friendly",
    "helpful",
    "patient",
    "polite",
    "quick",
    "professional",
    "kind",
    "clear",
    "excellent",
    "great",
    "efficient",
    "knowledgeable",
    "calm",
    "nice",
    "pleasant",
    "reliable",
]
_BAD = [
    "rude",
    "slow",
    "unhelpful",
    "confusing",
    "useless",
    "careless",
    "terrible",
    "awful",
    "poor",
    "disappointing",
    "frustrating",
    "annoying",
    "bad",
    "unclear",
    "late",
    "wrong",
]
_THING = [
    "the parcel",
    "my order",
    "the replacement",
    "the new router",
    "the paperwork",
    "the invoice",
    "the repair",
    "the refund",
    "the installation",
    "the update",
    "the follow-up e-mail",
]
_TIME = [
    "two days",
    "three weeks",
    "forty minutes",
    "an hour",
    "five days",
    "a whole month",
    "ten minutes",
    "half an hour",
    "a week",
    "two hours",
]
_CHANNEL = ["phone", "chat", "website", "app", "e-mail", "hotline", "counter"]
_ADVERB = ["really", "very", "quite", "extremely", "rather", "surprisingly", "incredibly", "not very"]

_OPENINGS = [
    "I contacted you about {issue} and {who} was {adv} {good}.",
    "I called about {issue} and {who} was {adv} {bad}, which I did not expect from you.",
    "When I reached out on the {channel} about {issue}, {who} was {good} and {good2}.",
    "Honestly the experience with {issue} was {adv} {bad} from start to finish.",
    "My problem with {issue} was solved on the first call, {who} was {adv} {good}.",
    "I had to chase {issue} three times and every answer I got on the {channel} was {bad}.",
    "This was my second time contacting you about {issue} and this time {who} was {good}.",
    "It took {time} to get through on the {channel} and {who} seemed {bad} about {issue}.",
]
_DETAILS = [
    "It took {time} before {thing} was sorted out, and I had to explain everything again.",
    "{Thing} arrived after {time} but the box was {bad} and nobody told me why.",
    "The {channel} kept logging me out, so I waited {time} for {thing} and got nothing.",
    "They explained {thing} in {adv} {good} words and followed up the next day as promised.",
    "I was on hold for {time}, the music was {bad}, but in the end {thing} worked.",
    "The first answer about {thing} was {bad}, the second one was {good} and fixed it.",
    "{Who} checked {thing} while I waited and even gave me a discount for the trouble.",
    "Nobody read my earlier messages, so {thing} was delayed by {time} for no good reason.",
    "The website said {thing} was ready but the store had no record of it at all.",
    "You promised a call back within {time} and it never came, which was {adv} {bad}.",
]
_CLOSINGS = [
    "Overall I would recommend you to my friends and family.",
    "Please train your staff better, otherwise I will look for another provider.",
    "Thanks again, {who} made my day a lot easier.",
    "I am {adv} happy with the result, even if it took {time}.",
    "I will probably not renew my subscription after this {bad} experience.",
    "Keep up the {good} work, this is why I stay with you.",
    "Fix the {channel}, it is the weakest part of an otherwise {good} service.",
    "Not sure I will come back, the price is fine but the service was {bad}.",
    "Five stars for {who}, zero for the waiting time on the {channel}.",
    "All in all a {good} experience, just make the {channel} faster please.",
]


def _fill(rng: random.Random, template: str) -> str:
    who, thing = rng.choice(_WHO), rng.choice(_THING)
    good = rng.sample(_GOOD, 2)
    return template.format(
        who=who,
        Who=who[0].upper() + who[1:],
        issue=rng.choice(_ISSUE),
        good=good[0],
        good2=good[1],
        bad=rng.choice(_BAD),
        thing=thing,
        Thing=thing[0].upper() + thing[1:],
        time=rng.choice(_TIME),
        channel=rng.choice(_CHANNEL),
        adv=rng.choice(_ADVERB),
    )


def comment_pools(seed: int = 7, per_pool: int = 300) -> tuple[list[str], list[str], list[str]]:
    """Three pools of sentences; one of each makes a comment of 20-60 words (300^3 combinations)."""
    rng = random.Random(seed)
    pools: tuple[list[str], list[str], list[str]] = ([], [], [])
    for pool, templates in zip(pools, (_OPENINGS, _DETAILS, _CLOSINGS), strict=True):
        seen: set[str] = set()
        while len(pool) < per_pool:
            sentence = _fill(rng, rng.choice(templates))
            if sentence not in seen and 7 <= len(sentence.split()) <= 20:
                seen.add(sentence)
                pool.append(sentence)
    for sentence in (s for pool in pools for s in pool):
        assert sentence.isascii() and '"' not in sentence and "\\" not in sentence
    return pools


def _lua_list(items: Sequence[str]) -> str:
    return "{\n" + ",\n".join(f'  "{s}"' for s in items) + "\n}"


def submission_script(run: str, pools: tuple[list[str], list[str], list[str]], ids_dir: Path) -> str:
    """A wrk script: a new body and a unique Idempotency-Key (run-thread-counter) per request.

    The id of every response answered 201 is written to ids_dir/<run>-<thread>.ids, to be looked up.
    """
    openings, details, closings = (_lua_list(p) for p in pools)
    return textwrap.dedent("""\
        local openings = {openings}
        local details = {details}
        local closings = {closings}
        local contacts = {{"phone", "e-mail", "chat", "store", "social media"}}
        local threads = {{}}
        local next_id = 0

        function setup(thread)
          thread:set("tid", next_id)
          next_id = next_id + 1
          table.insert(threads, thread)
        end

        function init(args)
          math.randomseed(1000 + tid)
          sent, answered, created = 0, 0, 0
          key_prefix = "{run}-" .. tid .. "-"
          headers = {{["Content-Type"] = "application/json"}}
          ids = io.open("{ids_dir}/{run}-" .. tid .. ".ids", "w")
          ids:setvbuf("line")  -- wrk ends its threads without closing their files
        end

        function request()
          sent = sent + 1
          local comment = openings[math.random(#openings)] .. " " .. details[math.random(#details)]
            .. " " .. closings[math.random(#closings)]
          local body = '{{"answers":{{"nps":' .. math.random(0, 10) .. ',"csat":' .. math.random(1, 5)
            .. ',"contact":"' .. contacts[math.random(#contacts)] .. '","comment":"' .. comment .. '"}}}}'
          headers["Idempotency-Key"] = key_prefix .. sent
          return wrk.format("POST", nil, headers, body)
        end

        function response(status, headers, body)
          answered = answered + 1
          if status == 201 then
            created = created + 1
            ids:write(string.match(body, '"id":"([^"]+)"') or "?", "\\n")
          end
        end

        function done(summary, latency, requests)
          local s, a, c = 0, 0, 0
          for _, thread in ipairs(threads) do
            s = s + thread:get("sent")
            a = a + thread:get("answered")
            c = c + thread:get("created")
          end
          io.write(string.format("BENCH sent=%d answered=%d created=%d\\n", s, a, c))
        end
        """).format(openings=openings, details=details, closings=closings, run=run, ids_dir=ids_dir)


# -- wrk ------------------------------------------------------------------------------------------

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not match:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(match[1]) * _UNITS[match[2]]


@dataclass
class WrkResult:
    endpoint: str
    connections: int
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p75_ms: float
    p90_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int
    server_cpu: float = 0.0  # cores: CPU seconds of the server (and its children) per wall second
    wrk_cpu: float = 0.0  # cores used by wrk
    database_cpu: float = 0.0  # cores used by the PostgreSQL cluster (--postgres; SQLite is in the server)
    other_cpu: float = 0.0  # cores used by anything else on the machine meanwhile (noise)
    extra: dict[str, int] = field(default_factory=dict)
    backend: str = "sqlite"
    workers: int = 1  # web worker processes of the server


def parse_wrk(output: str, endpoint: str, connections: int) -> WrkResult:
    percentiles = {p: _ms(v) for p, v in re.findall(r"^\s+(50|75|90|99)%\s+(\S+)\s*$", output, re.M)}
    done = re.search(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m),", output, re.M)
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.M)
    if not (done and rps and len(percentiles) == 4):
        raise RuntimeError(f"could not read wrk's output:\n{output}")
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    counters = "".join(re.findall(r"^BENCH .*$", output, re.M))
    extra = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", counters)}
    return WrkResult(
        endpoint=endpoint,
        connections=connections,
        requests=int(done[1]),
        seconds=_ms(done[2] + done[3]) / 1000,
        rps=float(rps[1]),
        p50_ms=percentiles["50"],
        p75_ms=percentiles["75"],
        p90_ms=percentiles["90"],
        p99_ms=percentiles["99"],
        non_2xx=int(non_2xx[1]) if non_2xx else 0,
        socket_errors=sum(int(n) for n in errors.groups()) if errors else 0,
        extra=extra,
    )


def _machine_busy() -> float:
    """CPU seconds the whole machine has been busy (all cores), from /proc/stat."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = (
        int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
    )
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _wrk_cpu() -> float:
    """CPU seconds of this script's waited-for children (the wrk runs)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wait_quiet(threshold: float, timeout: float) -> float:
    """Wait (at most timeout s) until the rest of the machine uses under threshold cores; that use."""
    deadline = time.monotonic() + timeout
    while True:
        before = _machine_busy()
        time.sleep(1.0)
        busy = _machine_busy() - before
        if busy < threshold or time.monotonic() >= deadline:
            return busy


def _cpu_seconds(root: int) -> float:
    """User + system CPU of a process and its live descendants (all threads), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    children: dict[int, list[int]] = {}
    for pid, parent in parents.items():
        children.setdefault(parent, []).append(pid)
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        total += times.get(pid, 0.0)
        todo.extend(children.get(pid, []))
    return total


# -- the server -----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


class Server:
    """`feedback serve` on a fresh database in a temporary directory."""

    def __init__(
        self, workdir: Path, extra_env: dict[str, str], database_url: str | None = None, workers: int = 1
    ) -> None:
        self.workdir = workdir
        self.port = _free_port()
        self.workers = workers
        self.database_url = database_url or f"sqlite:///{workdir / 'feedback.db'}"
        self.env = {
            **os.environ,
            "FEEDBACK_DATABASE_URL": self.database_url,
            "FEEDBACK_BASE_URL": f"http://{HOST}:{self.port}",
            "FEEDBACK_LOG_LEVEL": "WARNING",
            **extra_env,
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.base = f"http://{HOST}:{self.port}"

    def _feedback(self, *args: str) -> None:
        subprocess.run([*FEEDBACK, *args], env=self.env, check=True, cwd=self.workdir, capture_output=True)

    def prepare(self) -> None:
        (self.workdir / "survey.toml").write_text(SURVEY_TOML)
        self._feedback("db", "upgrade")
        self._feedback("departments", "add", "support", "Customer support")
        self._feedback("surveys", "load", "survey.toml")

    def start(self, timeout: float = 120.0) -> None:
        log = (self.workdir / "server.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("bench_app.py")), HOST, *self.port_and_workers()],
            env=self.env,
            cwd=self.workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited:\n{self.log()}")
            try:
                with urllib.request.urlopen(f"{self.base}/health", timeout=1) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):  # OSError: refused, reset or timed out (busy)
                time.sleep(0.1)
        raise RuntimeError(f"the server did not answer /health within {timeout} s:\n{self.log()}")

    def port_and_workers(self) -> list[str]:
        return [str(self.port), str(self.workers)]

    def log(self) -> str:
        return (self.workdir / "server.log").read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)  # uvicorn shuts down; the writer stores what is queued
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)

    def unscored(self) -> int:
        """Comments stored and not yet scored for sentiment (the writer scores them after the commit)."""
        from sqlalchemy import text

        from feedback.db import make_engine

        engine = make_engine(self.database_url)
        try:
            with engine.connect() as db:
                query = "SELECT count(*) FROM answers WHERE analyzer IS NULL AND text IS NOT NULL"
                return int(db.execute(text(query)).scalar_one())
        finally:
            engine.dispose()

    def rows(self, key_prefix: str) -> set[str]:
        """Ids (hex) of the responses stored under the idempotency keys of one run."""
        from sqlalchemy import text

        from feedback.db import make_engine

        engine = make_engine(self.database_url)
        try:
            with engine.connect() as db:
                found = db.execute(
                    text("SELECT id FROM responses WHERE idempotency_key LIKE :p"), {"p": key_prefix + "-%"}
                )
                return {row[0].hex if isinstance(row[0], uuid.UUID) else str(row[0]) for row in found}
        finally:
            engine.dispose()


# -- runs -----------------------------------------------------------------------------------------


@dataclass
class Options:
    connections: list[int]
    duration: int
    warmup: int
    threads: int
    repeat: int
    server_env: dict[str, str]
    keep: bool
    quiet: float  # wait until the rest of the machine uses fewer cores than this before each run
    quiet_wait: float  # ... but at most this many seconds
    retries: int  # run again when the rest of the machine used more than `quiet` cores meanwhile
    postgres: bool = False  # a private PostgreSQL cluster (tests/pg_cluster.py) instead of SQLite
    workers: int = 1  # web worker processes


def run_wrk(
    url: str,
    connections: int,
    seconds: int,
    threads: int,
    script: Path | None,
    server_pid: int,
    endpoint: str,
    database_pid: int | None = None,
) -> tuple[WrkResult, str]:
    """One wrk run, with the CPU used meanwhile by the server, by the database server (its postmaster and
    backends, when it is PostgreSQL's ``database_pid``), by wrk and by everything else."""
    command = [
        "wrk",
        f"-t{min(threads, connections)}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
        "--timeout",
        "10s",
    ]
    if script is not None:
        command += ["-s", str(script)]

    def database() -> float:
        return _cpu_seconds(database_pid) if database_pid is not None else 0.0

    server, db, wrk, machine = _cpu_seconds(server_pid), database(), _wrk_cpu(), _machine_busy()
    started = time.monotonic()
    done = subprocess.run([*command, url], check=True, capture_output=True, text=True, timeout=seconds + 60)
    wall = time.monotonic() - started
    result = parse_wrk(done.stdout, endpoint, connections)
    result.server_cpu = (_cpu_seconds(server_pid) - server) / wall
    result.database_cpu = (database() - db) / wall
    result.wrk_cpu = (_wrk_cpu() - wrk) / wall
    result.other_cpu = max(
        0.0, (_machine_busy() - machine) / wall - result.server_cpu - result.database_cpu - result.wrk_cpu
    )
    return result, done.stdout


def _settle(server: Server, prefix: str, expected_at_least: int, timeout: float = 30.0) -> set[str]:
    """Rows stored under prefix once the writer has drained what wrk left in flight."""
    deadline = time.monotonic() + timeout
    rows = server.rows(prefix)
    while time.monotonic() < deadline:
        time.sleep(0.3)
        now = server.rows(prefix)
        if len(now) == len(rows) and len(now) >= expected_at_least:
            break
        rows = now
    return rows


def _answered_ids(directory: Path, run: str) -> list[str]:
    """Ids (hex) of the responses wrk saw answered 201 in one run."""
    return [
        uuid.UUID(line).hex if line != "?" else line
        for path in sorted(directory.glob(f"{run}-*.ids"))
        for line in path.read_text().split()
    ]


class Bench:
    def __init__(
        self,
        options: Options,
        server: Server,
        pools: tuple[list[str], list[str], list[str]],
        database_pid: int | None = None,
    ) -> None:
        self.options = options
        self.server = server
        self.database_pid = database_pid
        self.pools = pools
        assert server.process is not None
        self.pid = server.process.pid
        self.urls = {
            "GET hello": f"{server.base}/bench/hello",
            "POST echo": f"{server.base}/bench/echo",
            "GET /health": f"{server.base}/health",
            "POST submission": f"{server.base}/api/surveys/{SURVEY_SLUG}/responses",
        }
        self.runs = 0

    def script(self, run: str) -> Path:
        path = self.server.workdir / f"{run}.lua"
        path.write_text(submission_script(run, self.pools, self.server.workdir))
        return path

    def warm_up(self) -> None:
        seconds, threads = self.options.warmup, self.options.threads
        for endpoint, url in self.urls.items():
            script = self.script("warmup") if endpoint.startswith("POST") else None
            run_wrk(url, 16, seconds, threads, script, self.pid, "warm-up", self.database_pid)

    def once(self, endpoint: str, connections: int) -> WrkResult:
        """A run, again while the rest of the machine was busy (up to --retries): the quietest is kept."""
        tries: list[WrkResult] = []
        for _ in range(self.options.retries + 1):
            wait_quiet(self.options.quiet, self.options.quiet_wait)
            tries.append(self._run(endpoint, connections))
            if tries[-1].other_cpu < self.options.quiet:
                break
            print(f"  (busy machine: {tries[-1].other_cpu:.2f} other cores; again)", flush=True)
        return min(tries, key=lambda r: r.other_cpu)

    def _run(self, endpoint: str, connections: int) -> WrkResult:
        self.runs += 1
        o = self.options
        url, run = self.urls[endpoint], f"run{self.runs}"
        if endpoint != "POST submission":
            script = self.script(run) if endpoint.startswith("POST") else None
            return run_wrk(
                url, connections, o.duration, o.threads, script, self.pid, endpoint, self.database_pid
            )[0]
        result, _ = run_wrk(
            url, connections, o.duration, o.threads, self.script(run), self.pid, endpoint, self.database_pid
        )
        # Every response answered 201 must be stored. wrk drops the requests in flight when its time is
        # up: the server may still store those (at most one per connection), or not if the request was
        # not read in full. wrk 4.1 also calls request() once without sending it, to check the script.
        created = result.extra["created"]
        in_flight = result.extra["sent"] - 1 - result.extra["answered"]
        stored = _settle(self.server, run, created)
        # The comments are scored after the commit: the next run starts once they all are, so that no
        # baseline runs beside the catching-up scorer. How long that took is reported.
        started, backlog = time.monotonic(), self.server.unscored()
        while self.server.unscored() and time.monotonic() - started < 120:
            time.sleep(0.2)
        result.extra.update(unscored=backlog, scored_ms=int((time.monotonic() - started) * 1000))
        answered = _answered_ids(self.server.workdir, run)
        missing = len(set(answered) - stored)
        after_stop = len(stored) - (len(answered) - missing)
        result.extra.update(rows=len(stored), missing=missing, in_flight=in_flight, after_stop=after_stop)
        result.extra["rows_ok"] = int(
            len(answered) == len(set(answered)) == created and missing == 0 and 0 <= after_stop <= in_flight
        )
        if not result.extra["rows_ok"]:
            print(
                f"  !! {len(stored)} rows stored, {created} answers 201 ({len(set(answered))} distinct "
                f"ids, {missing} of them not stored), {in_flight} in flight at the end",
                flush=True,
            )
        return result


def bench(options: Options) -> list[WrkResult]:
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install -y wrk)")
    workdir = Path(tempfile.mkdtemp(prefix="feedback-bench-"))
    cluster = None
    url = None
    if options.postgres:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        from tests.pg_cluster import PgCluster

        cluster = PgCluster(durable=True)
        url = f"{cluster.start()}/postgres"
    server = Server(workdir, options.server_env, url, options.workers)
    backend = "postgresql" if options.postgres else "sqlite"
    results: list[WrkResult] = []
    try:
        server.prepare()
        server.start()
        runner = Bench(options, server, comment_pools(), cluster.pid() if cluster is not None else None)
        if options.warmup:
            runner.warm_up()
        for _ in range(options.repeat):
            for connections in options.connections:
                for endpoint in ENDPOINTS:  # alternated, so that each baseline sees the same machine
                    results.append(runner.once(endpoint, connections))
                    results[-1].backend, results[-1].workers = backend, options.workers
                    print(_row(results[-1]), flush=True)
    finally:
        server.stop()
        if cluster is not None:
            cluster.stop()
        if options.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return results


ENDPOINTS = ("GET hello", "POST echo", "POST submission", "GET /health")
HEADER = (
    f"{'endpoint':<16} {'conns':>5} {'req/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'non2xx':>6} "
    f"{'errors':>6} {'server':>6} {'db':>5} {'wrk':>5} {'other':>5}  (CPU in cores)"
)


def _row(r: WrkResult) -> str:
    check = ""
    if "rows" in r.extra:
        check = (
            f"  201={r.extra['created']} rows={r.extra['rows']} missing={r.extra['missing']} "
            f"in-flight={r.extra['in_flight']} {'ok' if r.extra['rows_ok'] else 'MISMATCH'}"
            f" unscored={r.extra.get('unscored', 0)} scored in {r.extra.get('scored_ms', 0) / 1000:.1f} s"
        )
    return (
        f"{r.endpoint:<16} {r.connections:>5} {r.rps:>9,.0f} {r.p50_ms:>7.2f} {r.p99_ms:>7.2f} "
        f"{r.non_2xx:>6} {r.socket_errors:>6} {r.server_cpu:>6.2f} {r.database_cpu:>5.2f} {r.wrk_cpu:>5.2f} "
        f"{r.other_cpu:>5.2f}"
        f"{check}"
    )


def summary(results: list[WrkResult], connections: list[int]) -> str:
    """Medians over repeats, and submissions as a share of the baselines' requests/s."""
    lines = [
        "| connections | endpoint | requests/s | p50 ms | p99 ms | non-2xx | socket errors "
        "| CPU cores: server / database / wrk / other | server + database CPU µs per request "
        "| every 201 stored? (rows = answers 201 + stored after wrk's stop) |",
        "|---:|---|---:|---:|---:|---:|---:|---|---:|---|",
    ]
    med = statistics.median
    for c in connections:
        rps: dict[str, float] = {}
        for endpoint in ENDPOINTS:
            runs = [r for r in results if r.connections == c and r.endpoint == endpoint]
            if not runs:
                continue
            rps[endpoint] = med(r.rps for r in runs)
            check = ""
            if endpoint == "POST submission":
                check = "yes" if all(r.extra.get("rows_ok") for r in runs) else "NO"
                rows, created = sum(r.extra["rows"] for r in runs), sum(r.extra["created"] for r in runs)
                late = sum(r.extra["after_stop"] for r in runs)
                check += f" ({rows:,} = {created:,} + {late})"
            cpu = (
                f"{med(r.server_cpu for r in runs):.2f} / {med(r.database_cpu for r in runs):.2f} / "
                f"{med(r.wrk_cpu for r in runs):.2f} / {med(r.other_cpu for r in runs):.2f}"
            )
            lines.append(
                f"| {c} | {endpoint} | {rps[endpoint]:,.0f} | {med(r.p50_ms for r in runs):.2f} "
                f"| {med(r.p99_ms for r in runs):.2f} | {sum(r.non_2xx for r in runs)} "
                f"| {sum(r.socket_errors for r in runs)} | {cpu} "
                f"| {med((r.server_cpu + r.database_cpu) / r.rps * 1e6 for r in runs):.0f} | {check} |"
            )
        for baseline in ("GET hello", "POST echo"):
            if baseline in rps and "POST submission" in rps:
                share = rps["POST submission"] / rps[baseline]
                lines.append(f"| {c} | **submissions / {baseline}** | **{share:.0%}** | | | | | | | |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--connections", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--duration", type=int, default=12, help="seconds per wrk run")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of warm-up per endpoint")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--repeat", type=int, default=1, help="rounds; the table shows medians")
    parser.add_argument(
        "--quiet",
        type=float,
        default=0.3,
        help="before each run, wait until the rest of the machine uses fewer cores than this",
    )
    parser.add_argument("--quiet-wait", type=float, default=60, help="... but at most this many seconds")
    parser.add_argument(
        "--retries",
        type=int,
        default=2,
        help="run again (keeping the quietest) when the machine was busier than --quiet",
    )
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for the server, e.g. FEEDBACK_WRITE_BATCH_MAX=128",
    )
    parser.add_argument(
        "--postgres", action="store_true", help="a private PostgreSQL cluster instead of SQLite"
    )
    parser.add_argument("--workers", type=int, default=1, help="web worker processes of the server")
    parser.add_argument("--json", type=Path, help="write every run's figures here")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument(
        "--summarize", type=Path, metavar="JSON", help="only print the table of a --json file"
    )
    args = parser.parse_args(argv)
    if args.summarize:
        saved = [WrkResult(**r) for r in json.loads(args.summarize.read_text())]
        print(summary(saved, sorted({r.connections for r in saved})))
        return
    if not (
        1 <= args.duration <= 120
        and 0 <= args.warmup <= 30
        and 1 <= args.repeat <= 5
        and 0 <= args.retries <= 5
        and 0 <= args.quiet_wait <= 600
    ):
        parser.error(
            "--duration 1..120, --warmup 0..30, --repeat 1..5, --retries 0..5, --quiet-wait 0..600 "
            "(the benchmark stays bounded in time)"
        )
    options = Options(
        connections=args.connections,
        duration=args.duration,
        warmup=args.warmup,
        threads=args.threads,
        repeat=args.repeat,
        server_env=dict(item.split("=", 1) for item in args.server_env),
        keep=args.keep,
        quiet=args.quiet,
        quiet_wait=args.quiet_wait,
        retries=args.retries,
        postgres=args.postgres,
        workers=args.workers,
    )
    print(HEADER)
    results = bench(options)
    print()
    print(summary(results, options.connections))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=2))


if __name__ == "__main__":
    main()
