"""Speed of root-cause analysis: negative feedback -> known causes + discovered clusters + ledger.

Synthetic feedback (written here, nothing copied from real data): 40 causes, each with a few phrasings and
many fill-ins, so most texts are distinct as real comments are. Every item has an NPS; 1 in 10 is negative
(a detractor) with a comment. A run is: the negativity rule over all items, assignment of the negatives to a
20-cause taxonomy, discovery over the rest, labels, and the weekly ledger over all items.

    python bench/bench_causes.py               # 10k and 100k negatives (of 100k, 1M items), default engine
    python bench/bench_causes.py --negatives 1000000 --ratio 2     # 1M negatives of 2M items
    python bench/bench_causes.py --db --negatives 100000   # through `feedback analyze` on SQLite
    python bench/bench_causes.py --db --postgres --negatives 10000   # the same on a private PostgreSQL
    python bench/bench_causes.py --json results.json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl

from feedback.analysis.causes.engines import pick_engine
from feedback.analysis.causes.pipeline import CauseParams, run_batch
from feedback.analysis.causes.recurrence import compute_ledger
from feedback.analysis.causes.taxonomy import CauseSpec
from feedback.analysis.scales import DEFAULT_CUTOFFS

CAUSES = [
    (
        "late-delivery",
        "logistics",
        "my {thing} arrived {time} late",
        "still waiting for my {thing}, {time} overdue",
    ),
    ("damaged-parcel", "logistics", "the {thing} came damaged and {broken}", "box crushed, {thing} {broken}"),
    ("wrong-item", "logistics", "you sent the wrong {thing}", "ordered a {thing} but got something else"),
    ("double-charge", "billing", "charged twice for my {thing}", "double charge on my card for the {thing}"),
    (
        "refund-delay",
        "billing",
        "refund for the {thing} still missing after {time}",
        "waiting {time} for a refund",
    ),
    (
        "hidden-fee",
        "billing",
        "unexpected fee on my bill for the {thing}",
        "hidden charges added to the {thing}",
    ),
    (
        "app-crash",
        "digital",
        "the app crashes when I open the {thing} page",
        "app keeps crashing on {device}",
    ),
    (
        "login-failure",
        "digital",
        "cannot log in on {device}",
        "password reset link for my account never works",
    ),
    ("slow-website", "digital", "website is so slow when I look at the {thing}", "pages take {time} to load"),
    ("rude-agent", "support", "the agent was rude about my {thing}", "rude staff on the phone {when}"),
    ("long-hold", "support", "on hold for {time} about my {thing}", "waited {time} in the queue {when}"),
    (
        "no-callback",
        "support",
        "promised a call back about the {thing} that never came",
        "nobody called back {when}",
    ),
    (
        "repeat-contact",
        "support",
        "had to explain my {thing} problem again and again",
        "called {n} times about it",
    ),
    ("store-stock", "retail", "the store had no {thing} in stock", "{thing} out of stock again {when}"),
    ("store-queue", "retail", "huge queue at the checkout {when}", "only one till open, waited {time}"),
    (
        "price-match",
        "retail",
        "you refused to match the price of the {thing}",
        "cheaper {thing} online, no match",
    ),
    (
        "warranty-claim",
        "service",
        "warranty claim for the {thing} rejected",
        "repair under warranty took {time}",
    ),
    (
        "installation",
        "service",
        "the technician installed the {thing} wrong",
        "installation of the {thing} failed",
    ),
    (
        "missed-appointment",
        "service",
        "the engineer never showed up {when}",
        "missed appointment for my {thing}",
    ),
    (
        "contract-terms",
        "sales",
        "the contract for the {thing} had terms nobody explained",
        "tied into a contract",
    ),
]
UNKNOWN = [
    "the {thing} smells of chemicals", "instructions for the {thing} are only in german",
    "the {thing} battery dies after {time}", "loyalty points for the {thing} disappeared",
    "the {thing} is much smaller than the pictures", "courier left the {thing} with a neighbour {when}",
    "the {thing} colour is different from the website", "gift card for the {thing} did not work at the till",
    "the voucher code for the {thing} was rejected", "noise from the {thing} keeps me awake",
    "paint on the {thing} is peeling after {time}", "the {thing} manual is missing pages",
    "the survey emails about the {thing} are too many", "parking at the store was full {when}",
    "the {thing} subscription renewed without asking", "your chatbot did not understand my {thing} question",
    "the {thing} delivery slot was changed without notice", "the receipt for the {thing} was never emailed",
    "the {thing} assembly screws were missing", "the {thing} app notifications are spam",
]  # fmt: skip
FILL = {
    "thing": ["order", "sofa", "phone", "laptop", "parcel", "fridge", "router", "jacket", "tv", "printer",
              "mattress", "bike", "camera", "kettle", "lamp", "desk", "headphones", "watch", "oven"],
    "time": ["two days", "a week", "three weeks", "an hour", "45 minutes", "ten days", "a month"],
    "broken": ["cracked", "scratched", "dented", "in pieces", "leaking", "bent"],
    "device": ["android", "iphone", "my tablet", "the laptop", "chrome", "safari"],
    "when": ["today", "yesterday", "again", "last week", "this morning", "on saturday", "twice this month"],
    "n": ["three", "four", "five", "six"],
}  # fmt: skip
EXTRA = ["", "", "", " very disappointed", " not acceptable", " please fix this", " third time this year",
         " I want to cancel", " really frustrating", " sort it out", " never again"]  # fmt: skip


def comment(rng: random.Random) -> str:
    template = rng.choice(CAUSES)[rng.choice((2, 3))] if rng.random() < 0.8 else rng.choice(UNKNOWN)
    text = template.format(**{k: rng.choice(v) for k, v in FILL.items()}) + rng.choice(EXTRA)
    return f"{text} (order {rng.randrange(10_000, 99_999)})" if rng.random() < 0.5 else text


def make_items(total: int, negatives: int, seed: int = 0) -> pl.DataFrame:
    rng = random.Random(seed)
    start = datetime(2026, 6, 1, tzinfo=UTC)
    negative_rows = set(rng.sample(range(total), negatives))
    nps, texts, at = [], [], []
    for i in range(total):
        at.append(start + timedelta(seconds=rng.randrange(0, 180 * 86_400)))
        if i in negative_rows:
            nps.append(rng.randrange(0, 7))
            texts.append(comment(rng))
        else:
            nps.append(rng.randrange(7, 11))
            texts.append(None)
    return pl.DataFrame(
        {"key": [f"r:{i}" for i in range(total)], "occurred_at": at, "nps": nps,
         "csat": [None] * total, "ces": [None] * total, "polarity": [None] * total, "text": texts},
        schema_overrides={"csat": pl.Int64, "ces": pl.Int64, "polarity": pl.Float64},
    )  # fmt: skip


def taxonomy() -> list[CauseSpec]:
    return [
        CauseSpec(id=cid, name=cid.replace("-", " "), department=dep, keywords=(cid.replace("-", " "),),
                  examples=(a.format(**{k: v[0] for k, v in FILL.items()}),))
        for cid, dep, a, _ in CAUSES
    ]  # fmt: skip


def children_cpu() -> float:
    """CPU seconds of this process's descendants, live (joblib's workers) and ended, from /proc (Linux)."""
    import resource

    ticks = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(stat.parent.name)
        parents[pid] = int(fields[1])
        times[pid] = (int(fields[11]) + int(fields[12])) / ticks
    me, live = os.getpid(), 0.0
    for pid, cpu in times.items():
        ancestor = parents.get(pid, 0)
        while ancestor not in (0, 1, me):
            ancestor = parents.get(ancestor, 0)
        live += cpu if ancestor == me else 0.0
    ended = resource.getrusage(resource.RUSAGE_CHILDREN)
    return live + ended.ru_utime + ended.ru_stime


def engine_run(negatives: int, engine_name: str, ratio: int) -> dict[str, object]:
    total = negatives * ratio
    items = make_items(total, negatives)
    timings: dict[str, float] = {}
    load_start = os.getloadavg()[0]
    cpu, cpu_children = time.process_time(), children_cpu()
    started = time.perf_counter()
    mask = items.select(DEFAULT_CUTOFFS.dissatisfied_expr()).to_series() & items["text"].is_not_null()
    neg = items.filter(mask)
    timings["negativity"] = time.perf_counter() - started
    step = time.perf_counter()
    result = run_batch(neg["text"].to_list(), taxonomy(), pick_engine(engine_name), CauseParams(min_size=10))
    timings["assign_and_discover"] = time.perf_counter() - step
    step = time.perf_counter()
    keys = neg["key"].to_list()
    raised_keys, raised_causes = [], []
    for i, c in enumerate(result.assignment.cause.tolist()):
        if c >= 0:
            raised_keys.append(keys[i])
            raised_causes.append(c)
    for cluster in result.clusters:
        for i in cluster.rows.tolist():
            raised_keys.append(keys[i])
            raised_causes.append(1000 + cluster.number)
    raised = pl.DataFrame({"key": raised_keys, "cause_id": raised_causes})
    ledger = compute_ledger(items, raised, "week")
    timings["ledger"] = time.perf_counter() - step
    seconds = time.perf_counter() - started
    return {
        "mode": "engine",
        "load_average": round(os.getloadavg()[0], 1),
        "load_average_start": round(load_start, 1),
        "cpu_seconds_main_process": round(time.process_time() - cpu, 1),
        "cpu_seconds_workers": round(children_cpu() - cpu_children, 1),
        "engine": result.engine,
        "items": total,
        "negatives": neg.height,
        "assigned": int((result.assignment.cause >= 0).sum()),
        "clusters": len(result.clusters),
        "clustered": int((result.cluster_of_row >= 0).sum()),
        "ledger_rows": ledger.height,
        "seconds": round(seconds, 1),
        **{f"s_{k}": round(v, 1) for k, v in timings.items()},
    }


def _load_sqlite(url: str, responses: list[tuple[object, ...]], answers: list[tuple[object, ...]]) -> None:
    import sqlite3

    con = sqlite3.connect(url.split("///", 1)[1])
    con.executemany(
        "insert into responses (id, survey_id, via, submitted_at, nps) values (?,?,?,?,?)", responses
    )
    con.executemany(
        "insert into answers (response_id, question_id, text, polarity) values (?,?,?,?)", answers
    )
    con.commit()
    con.close()


def _load_postgres(url: str, responses: list[tuple[object, ...]], answers: list[tuple[object, ...]]) -> None:
    import psycopg

    with psycopg.connect(url) as con, con.cursor() as cur:
        with cur.copy("COPY responses (id, survey_id, via, submitted_at, nps) FROM STDIN") as copy:
            for row in responses:
                copy.write_row(row)
        with cur.copy("COPY answers (response_id, question_id, text, polarity) FROM STDIN") as copy:
            for row in answers:
                copy.write_row(row)


def db_run(negatives: int, engine_name: str, ratio: int, postgres: str | None = None) -> dict[str, object]:
    """The same data in SQLite or PostgreSQL (responses + comment answers), then `feedback analyze` in a
    subprocess; ``postgres`` is the URL of an empty database."""
    import uuid

    total = negatives * ratio
    items = make_items(total, negatives)
    with tempfile.TemporaryDirectory() as tmp:
        url = postgres or f"sqlite:///{tmp}/bench.db"
        env = {**os.environ, "FEEDBACK_DATABASE_URL": url, "FEEDBACK_CAUSES_ENGINE": engine_name}
        feedback = [sys.executable, "-c", "from feedback.cli import main; main()"]
        subprocess.run([*feedback, "db", "upgrade"], env=env, check=True, capture_output=True)
        for slug in sorted({dep for _, dep, _, _ in CAUSES}):
            subprocess.run([*feedback, "departments", "add", slug, slug.title()], env=env, check=True,
                           capture_output=True)  # fmt: skip
        survey = Path(tmp) / "survey.toml"
        survey.write_text(
            'slug = "s"\ntitle = "t"\ndepartment = "support"\n[[questions]]\nkey = "nps"\n'
            'type = "nps"\nprompt = "p"\n[[questions]]\nkey = "comment"\ntype = "text"\nprompt = "c"\n'
        )
        subprocess.run([*feedback, "surveys", "load", str(survey)], env=env, check=True, capture_output=True)
        lines = [
            f'[[causes]]\nid = "{c.id}"\nname = "{c.name}"\ndepartment = "{c.department}"\n'
            f'keywords = ["{c.keywords[0]}"]\nexamples = ["{c.examples[0]}"]\n'
            for c in taxonomy()
        ]
        (Path(tmp) / "taxonomy.toml").write_text("\n".join(lines))
        subprocess.run([*feedback, "causes", "taxonomy", "load", str(Path(tmp) / "taxonomy.toml")], env=env,
                       check=True, capture_output=True)  # fmt: skip
        started = time.perf_counter()
        from sqlalchemy import create_engine
        from sqlalchemy import text as sql

        engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        with engine.connect() as con:
            survey_id, comment_q = con.execute(
                sql("select s.id, q.id from surveys s join questions q on q.survey_id = s.id "
                    "where q.key = 'comment'")
            ).one()  # fmt: skip
        engine.dispose()
        responses: list[tuple[object, ...]] = []
        answers: list[tuple[object, ...]] = []
        for key, at, nps, text in items.select("key", "occurred_at", "nps", "text").iter_rows():
            rid = uuid.uuid5(uuid.NAMESPACE_URL, key)
            naive = at.replace(tzinfo=None)
            stored_id = str(rid) if postgres else rid.hex
            responses.append(
                (stored_id, survey_id, "api", naive if postgres else naive.isoformat(sep=" "), nps)
            )
            if text is not None:
                answers.append((stored_id, comment_q, text, -0.1))
        (_load_postgres if postgres else _load_sqlite)(url, responses, answers)
        loaded = time.perf_counter() - started
        import resource

        load_start = os.getloadavg()[0]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        run = subprocess.run([*feedback, "analyze"], env=env, check=True, capture_output=True, text=True)
        seconds = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        load_end = os.getloadavg()[0]
        again_started = time.perf_counter()
        subprocess.run([*feedback, "analyze"], env=env, check=True, capture_output=True, text=True)
        again = time.perf_counter() - again_started
    backend = "PostgreSQL" if postgres else "SQLite"
    return {
        "mode": f"feedback analyze ({backend})", "engine": engine_name, "items": total,
        "negatives": negatives,
        "load_seconds": round(loaded, 1), "seconds": round(seconds, 1), "second_run_seconds": round(again, 1),
        "cpu_seconds_analyze": round(cpu, 1), "load_average_start": round(load_start, 1),
        "load_average": round(load_end, 1),
        "steps": run.stderr.strip().splitlines(), "summary": run.stdout.strip(),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--negatives", default="10000,100000")
    parser.add_argument("--engine", default="default", choices=["default", "embeddings"])
    parser.add_argument("--db", action="store_true", help="through feedback analyze on SQLite")
    parser.add_argument("--postgres", action="store_true", help="with --db: on a private PostgreSQL cluster")
    parser.add_argument("--ratio", type=int, default=10, help="items per negative item")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results = []
    pg = None
    if args.postgres:
        from bench_invitations import Postgres  # a private cluster on 127.0.0.1 (tests/pg_cluster.py)

        pg = Postgres()
    try:
        for n in [int(x) for x in args.negatives.split(",")]:
            if args.db:
                record = db_run(n, args.engine, args.ratio, pg.database() if pg else None)
            else:
                record = engine_run(n, args.engine, args.ratio)
            print(json.dumps(record), flush=True)
            results.append(record)
    finally:
        if pg is not None:
            pg.stop()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
