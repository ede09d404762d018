"""What a digest says: causes ranked by points lost, each with why it is there; budget, quiet, redaction."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from feedback.config import Settings
from feedback.db import transaction
from feedback.digests.content import Digest, DigestRequest, build_digests, digest_to_json
from feedback.digests.render import digest_payload, render_digest
from feedback.models import CauseFollowup, Department, DigestRun, FollowupState, RunStatus
from tests.digests import data
from tests.digests.conftest import World

END = data.T0
START = END - timedelta(days=1)


def build(sessions: sessionmaker[Session], settings: Settings, department_id: int, now=END) -> Digest:  # type: ignore[no-untyped-def]
    with sessions() as session:
        department = session.get(Department, department_id)
        assert department is not None
        return build_digests(session, settings, [DigestRequest(department, START, END, 7)], now)[0].digest


def test_causes_are_ranked_by_points_lost_and_say_why_they_are_there(
    sessions, settings, world: World
) -> None:
    digest = build(sessions, settings, world.department)
    assert [i.cause for i in digest.items] == [
        "late-refunds",
        "rude-agent",
    ]  # the steady, rare typo is not news
    refunds, rude = digest.items
    assert refunds.rank == 1 and refunds.marks == ["growing", "recurring"] and refunds.points_lost == 5.0
    assert "Growing: 25 in 2026-W09 against 15.0 a week before" in refunds.reason
    assert "Recurring: in 4 of the last 4 weeks" in refunds.reason
    assert rude.marks == ["new"] and rude.reason.startswith("New: first seen")
    assert refunds.count == 25 and refunds.previous_count == 20 and refunds.trend == "growing"
    assert set(refunds.links) == {"acknowledge", "in_progress", "fixed"}
    assert all(link.startswith("http://feedback.test/actions/1.") for link in refunds.links.values())
    assert digest.quiet is False and digest.more == 0
    assert digest.dashboard_url == "http://feedback.test/dashboards/department?department=support"
    nps = next(h for h in digest.headline if h.metric == "nps")
    assert nps.value == -100 and nps.n == 4


def test_verbatims_are_redacted_everywhere_they_go(sessions, settings, world: World) -> None:
    digest = build(sessions, settings, world.department)
    verbatim = digest.items[0].verbatims[0]
    assert verbatim == "Refund still missing, write to [email] or call [phone]"
    message = render_digest(digest, 30)
    payload = str(digest_payload(digest))
    for text in (message.html, message.text, payload, str(digest_to_json(digest))):
        assert "jane@example.com" not in text and "7946" not in text


def test_the_noise_budget_caps_the_items_and_counts_the_rest(sessions, settings, world: World) -> None:
    with transaction(sessions) as session:
        session.execute(update(Department).values(noise_budget=1))
    digest = build(sessions, settings, world.department)
    assert [i.cause for i in digest.items] == ["late-refunds"] and digest.more == 1
    assert "1 more beyond this digest" in render_digest(digest, 30).html


def test_a_period_with_nothing_new_is_quiet(sessions, settings) -> None:
    department = data.department(sessions, "billing")
    digest = build(sessions, settings, department)
    message = render_digest(digest, 30)
    assert digest.quiet and not digest.items
    assert "Nothing new this day" in message.text and "nothing new" in message.subject


def test_state_changes_what_is_shown(sessions, settings, world: World) -> None:
    with transaction(sessions) as session:
        session.add_all(
            [
                CauseFollowup(cause_id=world.refunds, state=FollowupState.ACKNOWLEDGED, updated_at=END),
                CauseFollowup(
                    cause_id=world.rude,
                    state=FollowupState.FIXED,
                    fixed_at=END - timedelta(days=1),
                    verify_until=END + timedelta(days=13),
                    updated_at=END,
                ),
            ]
        )
    digest = build(sessions, settings, world.department)
    # acknowledged: no longer "recurring" (they know), still "growing"; being fixed: left to the verifier
    assert [(i.cause, i.marks) for i in digest.items] == [("late-refunds", ["growing"])]


def test_a_cause_nobody_acknowledged_in_time_is_past_its_deadline(sessions, settings, world: World) -> None:
    with transaction(sessions) as session:
        session.add(
            CauseFollowup(
                cause_id=world.typo,
                state=FollowupState.REPORTED,
                first_reported_at=END - timedelta(days=9),
                ack_due_at=END - timedelta(days=2),
                updated_at=END,
            )
        )
    digest = build(sessions, settings, world.department)
    typo = next(i for i in digest.items if i.cause == "typo-on-invoice")
    assert typo.marks == ["overdue"] and "Past its acknowledgement deadline (28 Feb)" in typo.reason


def test_what_the_last_digest_said_for_the_same_ledger_week_is_not_repeated(
    sessions, settings, world
) -> None:
    first = build(sessions, settings, world.department)
    with transaction(sessions) as session:
        session.add(
            DigestRun(
                department_id=world.department,
                period_key="earlier",
                kind="scheduled",
                scheduled_for=START,
                period_start=START - timedelta(days=1),
                period_end=START,
                state=RunStatus.SENT,
                subject="",
                content=digest_to_json(first),
                items=2,
                quiet=False,
                warnings=[],
            )
        )
    again = build(sessions, settings, world.department)
    assert (
        again.items == [] and again.quiet
    )  # a daily digest over a weekly ledger: nothing new since yesterday


def test_the_charts_are_valid_plotly_figures_and_none_is_blank(sessions, settings, world: World) -> None:
    import plotly.graph_objects as go

    from feedback.digests.charts import causes_chart, digest_charts

    with sessions() as session:
        department = session.get(Department, world.department)
        assert department is not None
        built = build_digests(session, settings, [DigestRequest(department, START, END, 7)], END)[0]
    specs = digest_charts(built.digest, built.trend, "7")
    assert [s.cid for s in specs] == ["trend-7@feedback", "causes-7@feedback"]
    for spec in specs:
        go.Figure(spec.figure)  # plotly validates every property name and value
        assert spec.alt and spec.title
    assert "1. Late refunds: 5.0 points" in specs[1].alt
    quiet = build(sessions, settings, data.department(sessions, "billing"))
    assert causes_chart(quiet, "x") is None  # no items: no chart, rather than an empty one


def test_the_email_templates_ship_inside_the_package() -> None:
    from importlib.resources import files

    for name in ("digest.html", "digest.txt", "alert.html", "alert.txt"):
        assert (files("feedback") / "templates" / "digests" / name).is_file()
