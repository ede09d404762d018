"""The daily rollups stay equal to a recount from the rows, and metrics read from them equal metrics read
from the rows, after random submissions, invitations, erasures and retention runs (SQLite and PostgreSQL)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from feedback.analysis.matching import Matcher, Rule
from feedback.analysis.metrics import Period
from feedback.analysis.noise import NoiseRules
from feedback.db import transaction
from feedback.mentions.rules import IngestOptions
from feedback.mentions.webhook import receive_batch
from feedback.metrics import rollups, service
from feedback.metrics.service import MetricsQuery, compute_many, compute_metrics
from feedback.models import invitation_rollups, mention_rollups, response_rollups
from feedback.models.rollup import GRAINS, SPANS, span_grain
from feedback.privacy.erase import erase_customer
from feedback.privacy.identifiers import IdentifierKind
from feedback.privacy.retention import retain_text
from feedback.responses.store import Stored, SurveyCache, store_batch
from feedback.responses.submissions import Submission
from tests import factories
from tests.metrics.data import store

START = datetime(2026, 9, 1, tzinfo=UTC)
CHANNELS = ["phone", "chat", "email", None]
PRODUCTS = ["router", "tv", None]
COMMENTS = ["Great help, thank you", "Awful wait, terrible", "The parcel came late", "ok", ""]
POSTS = [
    "my router keeps dropping the connection, awful",
    "the new tv is great, lovely picture",
    "support fixed my router in minutes, thank you",
    "billing charged me twice this month",
    "just a post about nothing in particular here",
]
HANDLES = [f"@fan{i}" for i in range(12)]
COPIED = "join the giveaway now and win a free router"
MENTION_OPTIONS = IngestOptions(
    Matcher(
        [
            Rule(keywords=("router",), product="router", department="support"),
            Rule(keywords=("tv",), product="tv", department="sales"),
            Rule(keywords=("billing",), department="sales"),
        ]
    ),
    NoiseRules(min_words=3, copypasta_accounts=3),
    max_text_chars=2000,
    copypasta_accounts=3,
)


def _random_rows(rng: random.Random, count: int, tokens: list[str]) -> list[dict[str, Any]]:
    rows = []
    for _ in range(count):
        answers: dict[str, Any] = {"nps": rng.randint(0, 10)}
        if rng.random() < 0.7:
            answers["csat"] = rng.randint(1, 5)
        if rng.random() < 0.4:
            answers["ces"] = rng.randint(1, 7)
        comment = rng.choice(COMMENTS)
        if comment:
            answers["comment"] = comment
        at = START + timedelta(minutes=rng.randrange(60 * 24 * 60))
        row: dict[str, Any] = {"at": at, "answers": answers}
        if tokens and rng.random() < 0.3:
            row["token"] = tokens.pop()
        else:
            context = {"channel": rng.choice(CHANNELS), "product": rng.choice(PRODUCTS)}
            if rng.random() < 0.5:
                context["first_contact_resolved"] = rng.random() < 0.6
            row["context"] = {k: v for k, v in context.items() if v is not None}
        rows.append(row)
    return rows


def _random_mentions(rng: random.Random, count: int) -> list[dict[str, Any]]:
    """Posts over two months: the same post ids again (a retried batch), reposts, and the same words from
    several accounts (copypasta once three have posted them)."""
    items = []
    for _ in range(count):
        at = START + timedelta(minutes=rng.randrange(60 * 24 * 60))
        item: dict[str, Any] = {
            "source_id": str(rng.randrange(400)),
            "text": COPIED if rng.random() < 0.1 else f"{rng.choice(POSTS)} {rng.randrange(10**6)}",
            "posted_at": at.isoformat(),
            "author": rng.choice(HANDLES),
            "repost": rng.random() < 0.1,
        }
        if rng.random() < 0.2:
            item["product"] = rng.choice(["router", "tv", "modem"])
        items.append(item)
    return items


def store_mentions(sessions: sessionmaker[Session], seed: int, batches: int = 4) -> None:
    rng = random.Random(seed)
    for _ in range(batches):
        for source in ("twitter", "reddit"):
            receive_batch(sessions, source, _random_mentions(rng, 40), MENTION_OPTIONS, START)


def _snapshot(sessions: sessionmaker[Session]) -> dict[str, pl.DataFrame]:
    out = {}
    with sessions() as session:
        for table in (response_rollups, invitation_rollups, mention_rollups):
            rows = [dict(r._mapping) for r in session.execute(select(table))]
            frame = pl.DataFrame(rows, infer_schema_length=None) if rows else pl.DataFrame()
            out[table.name] = frame.sort(frame.columns[:6]) if rows else frame
    return out


def _assert_same(
    kept: dict[str, pl.DataFrame], recounted: dict[str, pl.DataFrame], may_be_empty: tuple[str, ...] = ()
) -> None:
    for name, frame in recounted.items():
        if name in may_be_empty and frame.is_empty():
            assert kept[name].is_empty(), f"{name} counts what is not there"
            continue
        assert frame.height > 0, f"{name} recounted nothing: the test stored no rows?"
        assert_frame_equal(kept[name], frame, check_dtypes=False, abs_tol=1e-9)


@pytest.fixture
def busy(sessions: sessionmaker[Session]) -> list[str]:
    """A survey with two months of random responses, some through invitations; the invitees' e-mails."""
    rng = random.Random(7)
    factories.survey(sessions)
    emails = [f"c{i}@example.com" for i in range(40)]
    tokens = factories.invite(
        sessions,
        [{"email": e, "channel": rng.choice(["phone", "chat"]), "product": "router"} for e in emails],
    )
    for _ in range(6):  # several batches, as the group-commit writer makes them
        store(sessions, _random_rows(rng, 60, tokens))
    factories.department(sessions, "sales", "Sales")
    store_mentions(sessions, 11)
    return emails


def test_rollups_equal_a_recount_after_submissions_erasures_and_retention(
    sessions: sessionmaker[Session], busy: list[str]
) -> None:
    kept = _snapshot(sessions)
    for name in ("response_rollups", "invitation_rollups"):  # every grain by day, week and month
        grains = set(kept[name]["grain"])
        assert {g if s == "day" else span_grain(g, s) for g in GRAINS for s in ("day", *SPANS)} <= grains
    with transaction(sessions) as session:
        rollups.rebuild(session.connection())
    _assert_same(kept, _snapshot(sessions))

    for email in busy[:10]:  # erase customers who answered through their invitation
        with transaction(sessions) as session:
            erase_customer(session, b"k" * 32, IdentifierKind.EMAIL, email, requested_by="test", via="cli")
    for handle in HANDLES[:3]:  # and people who posted
        with transaction(sessions) as session:
            erase_customer(session, b"k" * 32, IdentifierKind.HANDLE, handle, requested_by="test", via="cli")
    retain_text(sessions, days=30, now=START + timedelta(days=61))
    store(sessions, _random_rows(random.Random(8), 50, []))
    store_mentions(sessions, 12, batches=2)  # more posts, some of them copies of erased ones
    kept = _snapshot(sessions)
    with transaction(sessions) as session:
        rollups.rebuild(session.connection())
    _assert_same(kept, _snapshot(sessions))


QUERIES = [
    MetricsQuery(
        metrics=("nps", "dissatisfied", "volume"),
        by=("product",),
        filters={"channel": ("phone",)},
        period=Period.WEEK,
        since=START + timedelta(days=2, hours=3),
        until=START + timedelta(days=40),
    ),
    MetricsQuery(by=("channel",), period=Period.WEEK, since=START, until=START + timedelta(days=60)),
    MetricsQuery(
        by=("department", "product"), since=START + timedelta(hours=7), until=START + timedelta(days=50)
    ),
    MetricsQuery(
        period=Period.DAY, since=START + timedelta(days=3, hours=5), until=START + timedelta(days=9)
    ),
    MetricsQuery(
        metrics=("nps", "csat", "ces", "fcr", "sentiment", "response_rate"),
        filters={"channel": ("phone", "chat")},
        period=Period.MONTH,
        since=START,
        until=START + timedelta(days=45, minutes=13),
    ),
    MetricsQuery(
        by=("survey",), since=START + timedelta(days=1, hours=23), until=START + timedelta(days=2, hours=1)
    ),
    MetricsQuery(  # a whole month, whole weeks and days from the rollups, hours from the rows
        metrics=("nps", "csat", "dissatisfied", "sentiment", "response_rate"),
        by=("product",),
        since=START,
        until=START + timedelta(days=55, hours=7),
    ),
]


MENTION_METRICS = ("mention_volume", "mention_sentiment")
TZ_QUERIES = [  # periods of other time zones: whole UTC days inside a period from the rollups, the rest rows
    MetricsQuery(
        by=("channel",),
        period=Period.WEEK,
        tz="America/New_York",
        since=START + timedelta(days=2, hours=3),
        until=START + timedelta(days=50),
    ),
    MetricsQuery(
        metrics=(*MENTION_METRICS, "nps", "csat", "response_rate", "dissatisfied"),
        by=("department",),
        period=Period.MONTH,
        tz="Asia/Kolkata",  # half an hour off UTC
        since=START,
        until=START + timedelta(days=60),
    ),
    MetricsQuery(
        metrics=("dissatisfied", "sentiment", "ces"),
        by=("product",),
        tz="Europe/Berlin",
        since=START + timedelta(days=1, hours=5),
        until=START + timedelta(days=33, hours=2),
    ),
]
QUERIES += TZ_QUERIES
QUERIES += [
    MetricsQuery(
        metrics=MENTION_METRICS,
        by=("source",),
        period=Period.WEEK,
        since=START + timedelta(days=2, hours=3),
        until=START + timedelta(days=40),
    ),
    MetricsQuery(
        metrics=MENTION_METRICS,
        by=("department", "product"),
        filters={"source": ("twitter",)},
        since=START + timedelta(hours=7),
        until=START + timedelta(days=50),
    ),
    MetricsQuery(
        metrics=(*MENTION_METRICS, "nps"),
        filters={"department": ("sales",)},
        period=Period.DAY,
        since=START + timedelta(days=3, hours=5),
        until=START + timedelta(days=9),
    ),
]


def _from_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rollups, "grain_for", lambda *args: None)


@pytest.mark.parametrize("index", range(len(QUERIES)))
def test_metrics_from_rollups_equal_metrics_from_rows(
    sessions: sessionmaker[Session], busy: list[str], monkeypatch: pytest.MonkeyPatch, index: int
) -> None:
    query = QUERIES[index]
    with sessions() as session:
        counted = compute_metrics(session, query).table
    assert counted.height > 0
    _from_rows(monkeypatch)
    with sessions() as session:
        read = compute_metrics(session, query).table
    assert_frame_equal(counted, read, check_dtypes=False, abs_tol=1e-9)


def test_a_dashboards_queries_read_together_equal_each_from_rows(
    sessions: sessionmaker[Session], busy: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with sessions() as session:
        together = [r.table for r in compute_many(session, QUERIES)]
    _from_rows(monkeypatch)
    with sessions() as session:
        alone = [compute_metrics(session, q).table for q in QUERIES]
    for a, b in zip(together, alone, strict=True):
        assert_frame_equal(a, b, check_dtypes=False, abs_tol=1e-9)


def test_plan_reads_whole_days_from_rollups_and_the_edges_from_rows() -> None:
    def t(day: int, hour: int, minute: int = 0) -> datetime:
        return datetime(2026, 11, day, hour, minute, tzinfo=UTC)

    plan = rollups.plan([t(3, 15, 30), t(6, 15, 30), t(4, 17, 30)])
    assert plan.days == [(t(5, 0).date(), t(6, 0).date())]
    # Each range of rows within one day and between two boundaries.
    assert plan.rows == [
        (t(3, 15, 30), t(4, 0)),
        (t(4, 0), t(4, 17, 30)),
        (t(4, 17, 30), t(5, 0)),
        (t(6, 0), t(6, 15, 30)),
    ]


def test_cover_reads_whole_months_then_whole_weeks_then_days() -> None:
    def d(month: int, day: int) -> date:
        return date(2026, month, day)

    # 2026-09-01 is a Tuesday; Mondays in October: 5, 12, 19, 26.
    assert rollups.cover([(d(8, 30), d(10, 22))]) == {
        "month": [(d(9, 1), d(10, 1))],
        "week": [(d(10, 5), d(10, 19))],
        "day": [(d(8, 30), d(9, 1)), (d(10, 1), d(10, 5)), (d(10, 19), d(10, 22))],
    }
    # Two ranges (a boundary on 10-14): no week or month crosses it; adjacent ranges of a span merged.
    assert rollups.cover([(d(10, 5), d(10, 14)), (d(10, 14), d(10, 26))]) == {
        "month": [],
        "week": [(d(10, 5), d(10, 12)), (d(10, 19), d(10, 26))],
        "day": [(d(10, 12), d(10, 19))],
    }


def test_a_long_window_reads_weekly_and_monthly_rows_with_the_same_sums(
    sessions: sessionmaker[Session], busy: list[str]
) -> None:
    days = [(START.date(), (START + timedelta(days=55)).date())]  # September, then October 1-25
    engine = sessions.kw["bind"]
    coarse = rollups.read_counts(engine, "responses", "product", ["product"], {}, None, days)
    starts = {at.date() for at in coarse["at"]}
    october = START.date().replace(month=10)
    assert START.date() in starts and (START + timedelta(days=2)).date() not in starts  # September: a row
    assert {october + timedelta(days=i) for i in (4, 11, 18)} <= starts  # the Mondays of whole weeks
    assert {october + timedelta(days=i) for i in (5, 6, 12)}.isdisjoint(starts)
    daily = rollups.read_counts(
        engine,
        "responses",
        "product",
        ["product"],
        {},
        None,
        [(d, d + timedelta(days=1)) for d in _days(days)],
    )
    sums = [c for c in coarse.columns if c != "at"]

    def total(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.group_by("product").agg(pl.col(c).sum() for c in sums if c != "product").sort("product")

    assert daily.height > coarse.height
    assert_frame_equal(total(coarse), total(daily), check_dtypes=False, abs_tol=1e-9)


def _days(ranges: list[tuple[date, date]]) -> list[date]:
    return [first + timedelta(days=i) for first, last in ranges for i in range((last - first).days)]


def test_partial_responses_saved_again_and_completed_are_counted_once_as_they_end(
    sessions: sessionmaker[Session],
) -> None:
    """A score clicked in an e-mail is a partial response, updated in place by another click and by Send:
    the rollups count each response once, with the scores and comment it has now."""
    factories.survey(sessions)
    tokens = factories.invite(
        sessions, [{"email": f"p{i}@example.com", "channel": "phone"} for i in range(6)]
    )
    at = START + timedelta(days=3, hours=9)

    def save(token: str, answers: dict[str, Any], partial: bool) -> None:
        submission = Submission(
            answers=answers, via="web", submitted_at=at, token=token, partial=partial, language="en"
        )
        [outcome] = store_batch(sessions, [submission], SurveyCache(), 5000)
        assert isinstance(outcome, Stored), outcome

    for token in tokens:
        save(token, {"nps": 2}, partial=True)
    for token in tokens[:4]:
        save(token, {"nps": 9}, partial=True)  # another click
    for token in tokens[:3]:
        save(token, {"nps": 10, "csat": 5, "comment": "Great help, thank you"}, partial=False)  # Send
    kept = _snapshot(sessions)
    with transaction(sessions) as session:
        rollups.rebuild(session.connection())
    _assert_same(kept, _snapshot(sessions), may_be_empty=("mention_rollups",))
    with sessions() as session:
        table = compute_metrics(
            session, MetricsQuery(metrics=("nps", "volume"), since=START, until=START + timedelta(days=5))
        ).table
    values = {r["metric"]: (r["value"], r["n"]) for r in table.iter_rows(named=True)}
    assert values["volume"] == (6, 6)
    assert values["nps"][1] == 6 and values["nps"][0] == pytest.approx(
        100 * (4 - 2) / 6
    )  # 10,10,10,9,9 vs 2,2


def test_weeks_and_months_of_another_time_zone_read_whole_utc_days_from_the_rollups(
    sessions: sessionmaker[Session], busy: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    read_days: list[int] = []
    read_counts = rollups.read_counts

    def spy(*args: Any) -> pl.DataFrame:
        read_days.append(sum((last - first).days for first, last in args[-1]))
        return read_counts(*args)

    monkeypatch.setattr(rollups, "read_counts", spy)
    with sessions() as session:
        compute_metrics(session, TZ_QUERIES[0])  # 7 weeks: 6 whole UTC days each from the rollups
    assert sum(read_days) >= 6 * 6
    read_days.clear()
    daily = MetricsQuery(
        period=Period.DAY, tz="Europe/Berlin", since=START, until=START + timedelta(days=20)
    )  # every day of Berlin straddles a UTC midnight: rows only, in one read
    with sessions() as session:
        counted = compute_metrics(session, daily).table
    assert read_days == [] and counted.height > 0


def test_the_hours_at_the_ends_of_another_time_zones_periods_are_read_in_one_query_per_table(
    sessions: sessionmaker[Session], busy: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A period of another time zone is counted from whole UTC days in the rollups and the hours at its
    ends from the rows: two slivers a week of Berlin. Read one query each, a year of weeks cost 214 reads
    (12 s for 10k responses on PostgreSQL, a connection each; a scan of the invitations each on SQLite)."""
    reads: list[tuple[str, int]] = []
    read_rows = service.read_rows

    def spy(*args: Any, **kwargs: Any) -> pl.DataFrame:
        reads.append((args[1], len(kwargs.get("windows", ()))))
        return read_rows(*args, **kwargs)

    monkeypatch.setattr(service, "read_rows", spy)
    with sessions() as session:
        for query in TZ_QUERIES:
            reads.clear()
            assert compute_metrics(session, query).table.height > 0
            tables = [table for table, _ in reads]
            assert len(tables) == len(set(tables)), reads  # one read per table
            assert any(windows > 2 for _, windows in reads), reads  # each holding many slivers


def test_dissatisfied_counts_serve_only_the_cut_offs_they_were_counted_by(
    sessions: sessionmaker[Session], busy: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Other cut-offs in the settings: dissatisfied is read from the rows (right for them), and responses
    stored meanwhile mark the counts mixed, until `feedback metrics rebuild` counts by the new ones."""
    query = MetricsQuery(
        metrics=("dissatisfied",), by=("channel",), since=START, until=START + timedelta(days=60)
    )
    read_counts = rollups.read_counts
    used: list[str] = []

    def spy(*args: Any) -> pl.DataFrame:
        used.append(args[1])
        return read_counts(*args)

    monkeypatch.setattr(rollups, "read_counts", spy)

    def dissatisfied() -> pl.DataFrame:
        with sessions() as session:
            return compute_metrics(session, query).table

    before = dissatisfied()
    assert used == ["responses"]
    monkeypatch.setenv("FEEDBACK_NPS_BANDS", "8,9")  # eights are detractors now
    store(sessions, _random_rows(random.Random(9), 20, []))  # counted by the new cut-offs
    monkeypatch.setenv("FEEDBACK_NPS_BANDS", "6,9")  # and back: the counts now mix both rules
    used.clear()
    mixed = dissatisfied()
    assert used == []  # rows only
    _from_rows(monkeypatch)
    assert_frame_equal(mixed, dissatisfied(), check_dtypes=False, abs_tol=1e-9)
    monkeypatch.undo()

    monkeypatch.setenv("FEEDBACK_NPS_BANDS", "8,9")
    with transaction(sessions) as session:
        rollups.rebuild(session.connection())
    monkeypatch.setattr(rollups, "read_counts", spy)
    used.clear()
    stricter = dissatisfied()
    assert used == ["responses"]
    _from_rows(monkeypatch)
    assert_frame_equal(stricter, dissatisfied(), check_dtypes=False, abs_tol=1e-9)
    share = {r["channel"]: r["value"] for r in stricter.iter_rows(named=True) if r["period"] is None}
    old = {r["channel"]: r["value"] for r in before.iter_rows(named=True) if r["period"] is None}
    assert all(share[c] >= old[c] for c in old) and share != old


def test_a_filter_value_with_a_percent_sign_and_quotes_is_read_as_a_value(
    sessions: sessionmaker[Session], busy: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    odd = "50% off 'sale' %s"  # inlined as a literal on PostgreSQL: never a placeholder
    rows = [
        {"at": START + timedelta(days=d, hours=2), "answers": {"nps": n}, "context": {"channel": odd}}
        for d, n in ((3, 2), (4, 10), (20, 9))
    ]
    store(sessions, rows)
    query = MetricsQuery(
        metrics=("nps", "volume"), filters={"channel": (odd,)}, since=START, until=START + timedelta(days=60)
    )
    with sessions() as session:
        counted = compute_metrics(session, query).table
    assert counted.filter(pl.col("metric") == "volume")["value"].sum() == 3, counted
    _from_rows(monkeypatch)
    with sessions() as session:
        read = compute_metrics(session, query).table
    assert_frame_equal(counted, read, check_dtypes=False, abs_tol=1e-9)
