"""`feedback demo`: a realistic company a new user can explore, with structure an analysis can find."""

from __future__ import annotations

import re
import statistics
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from feedback.analysis.sentiment import ANALYZER
from feedback.db import transaction
from feedback.demo.seed import generate, period, seed_demo
from feedback.errors import InvalidInput
from feedback.models import SCALES, Answer, ApiToken, Department, Invitation, Question, Response, Survey
from tests.factories import BASE_URL, bearer

DEMO_SURVEYS = {"support-contact", "delivery", "purchase"}
FIXED_NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)


def seed(sessions: sessionmaker[Session], **options: Any) -> str:
    options.setdefault("months", 1)
    options.setdefault("responses_per_day", 20)
    with transaction(sessions) as session:
        return seed_demo(session, BASE_URL, **options)


def counts(sessions: sessionmaker[Session]) -> dict[str, int]:
    with sessions() as session:
        return {
            model.__tablename__: int(session.scalar(select(func.count()).select_from(model)) or 0)
            for model in (Department, Survey, Invitation, Response, Answer, ApiToken)
        }


def test_small_demo_has_departments_surveys_invitations_and_answered_responses(
    sessions: sessionmaker[Session],
) -> None:
    before = datetime.now(UTC)
    seed(sessions)
    after = datetime.now(UTC)
    start, _ = period(1, before)
    with sessions() as session:
        departments = set(session.scalars(select(Department.slug)))
        assert {"support", "delivery", "billing", "digital", "stores"} <= departments
        surveys = {s.slug: s for s in session.scalars(select(Survey))}
        assert set(surveys) == DEMO_SURVEYS
        assert surveys["purchase"].public_key is not None  # the anonymous link
        assert surveys["support-contact"].public_key is None

        invitations = session.scalars(select(Invitation)).all()
        responses = session.scalars(select(Response)).all()
        assert len(invitations) > 300
        invited = [r for r in responses if r.invitation_id is not None]
        assert 0.18 <= len(invited) / len(invitations) <= 0.4  # a realistic response rate
        assert 20 * 30 * 0.8 <= len(responses) <= 20 * 31 * 1.2  # about responses_per_day each day

        by_id = {i.id: i for i in invitations}
        for response in responses:
            assert start - timedelta(seconds=1) <= response.submitted_at <= after
            if response.invitation_id is not None:
                invitation = by_id[response.invitation_id]
                assert invitation.responded_at == response.submitted_at
                assert invitation.created_at < response.submitted_at
                assert (response.channel, response.agent, response.department_id) == (
                    invitation.channel,
                    invitation.agent,
                    invitation.department_id,
                )
            assert response.channel and response.region and response.department_id
        answered = {i.id for i in invitations if i.responded_at is not None}
        assert answered == {r.invitation_id for r in invited}
        assert len({(i.survey_id, i.dedup_key) for i in invitations}) == len(invitations)

        support = [r for r in responses if r.survey_id == surveys["support-contact"].id]
        assert support and all(
            r.team
            and r.agent
            and r.product
            and r.handle_time_s
            and r.wait_time_s is not None
            and r.first_contact_resolved is not None
            for r in support
        )
        contractors = {r.contractor for r in support}
        assert None in contractors and len(contractors) >= 3  # in-house and outsourced agents
        assert {r.channel for r in support} == {"phone", "chat", "email"}
        anonymous = [r for r in responses if r.invitation_id is None]
        assert anonymous and {r.survey_id for r in anonymous} == {surveys["purchase"].id}


def test_scores_are_in_range_and_copied_onto_the_response(sessions: sessionmaker[Session]) -> None:
    seed(sessions)
    with sessions() as session:
        rows = session.execute(
            select(Answer, Question.kind, Question.key, Response).join(Question).join(Response)
        ).all()
        first_score: dict[tuple[Any, str], int] = {}
        for answer, kind, _key, response in rows:
            if kind in SCALES:
                low, high = SCALES[kind]
                assert answer.score is not None and low <= answer.score <= high
                first_score.setdefault((response.id, kind), answer.score)
            elif kind == "choice":
                assert answer.choice is not None
            else:
                assert answer.text and answer.text == answer.text.strip()
                assert answer.polarity is not None and -1 <= answer.polarity <= 1
                assert answer.subjectivity is not None and 0 <= answer.subjectivity <= 1
                assert answer.analyzer == ANALYZER
        responses = session.scalars(select(Response)).all()
        for response in responses:
            for scale in ("nps", "csat", "ces"):
                assert getattr(response, scale) == first_score.get((response.id, scale))
        with_comment = {a.response_id for a, *_ in rows if a.text is not None}
        assert 0.35 <= len(with_comment) / len(responses) <= 0.55
        texts = [a.text for a, *_ in rows if a.text is not None]
        assert len(set(texts)) > 0.5 * len(texts)  # varied, not a handful of canned lines


def test_a_second_call_seeds_nothing_more(sessions: sessionmaker[Session]) -> None:
    first = seed(sessions)
    seeded = counts(sessions)
    second = seed(sessions, months=3)
    assert counts(sessions) == seeded
    assert "already" in second and "fbk_" not in second  # no new token, none shown
    assert "fbk_" in first


def test_printed_links_open_and_printed_token_authenticates(
    sessions: sessionmaker[Session], client: Any
) -> None:
    summary = seed(sessions)
    token = re.search(r"\b(fbk_[A-Za-z0-9_-]+)", summary)
    assert token is not None
    links = re.findall(re.escape(BASE_URL) + r"(/s/[A-Za-z0-9_-]+(?:\?nps=9)?)", summary)
    assert len(links) == 3
    public = re.findall(re.escape(BASE_URL) + r"(/p/[A-Za-z0-9_-]+)", summary)
    assert len(public) == 1
    assert f"{BASE_URL}/schema" in summary

    for path in links + public:
        page = client.get(path)
        assert page.status_code == 200, path
        assert "<form" in page.text and "Send my answers" in page.text
    one_click = next(p for p in links if p.endswith("?nps=9"))
    assert re.search(r'name="nps" value="9"[^>]*checked', client.get(one_click).text)

    listed = client.get("/api/surveys", headers=bearer(token.group(1)))
    assert listed.status_code == 200
    assert {s["slug"] for s in listed.json()} == DEMO_SURVEYS
    assert client.get("/api/surveys", headers=bearer("fbk_wrong")).status_code == 401
    assert client.get("/schema").status_code == 200

    # A fresh link really is unanswered: answering it works once.
    answer = client.post(
        one_click.split("?")[0], data={"nps": "9", "comment": "Lovely demo"}, follow_redirects=False
    )
    assert answer.status_code == 303


def _mean_polarity(session: Session, low: int, high: int) -> float:
    values = session.scalars(
        select(Answer.polarity)
        .join(Response)
        .where(Answer.text.is_not(None), Response.nps >= low, Response.nps <= high)
    ).all()
    assert len(values) > 30
    return statistics.fmean(v for v in values if v is not None)


def test_detractors_write_more_negative_comments_than_promoters(sessions: sessionmaker[Session]) -> None:
    seed(sessions)
    with sessions() as session:
        detractors = _mean_polarity(session, 0, 6)
        promoters = _mean_polarity(session, 9, 10)
    assert detractors < 0 < promoters
    assert promoters - detractors > 0.3


def _share(
    responses: list[Response], texts: dict[Any, str], pattern: str, when: Callable[[Response], bool]
) -> float:
    chosen = [r for r in responses if when(r)]
    hits = [r for r in chosen if re.search(pattern, texts.get(r.id, ""), re.IGNORECASE)]
    return len(hits) / len(chosen)


def test_built_in_root_causes_trends_and_contractor_gap_can_be_found(sessions: sessionmaker[Session]) -> None:
    seed(sessions, months=6, responses_per_day=20, now=FIXED_NOW)
    start, end = period(6, FIXED_NOW)
    with sessions() as session:
        responses = list(session.scalars(select(Response)))
        texts = {
            response_id: text or ""
            for response_id, text in session.execute(
                select(Answer.response_id, Answer.text).where(Answer.text.is_not(None))
            )
        }
        departments = dict(session.execute(select(Department.id, Department.slug)).all())
        support_id = session.scalar(select(Survey.id).where(Survey.slug == "support-contact"))

    def at(low: float, high: float) -> Callable[[Response], bool]:
        return lambda r: start + (end - start) * low <= r.submitted_at < start + (end - start) * high

    # Fixed half-way: the app's login failures.
    login = r"log ?in|logging me out|sign in|locked out"
    assert _share(responses, texts, login, at(0.15, 0.5)) > 4 * _share(responses, texts, login, at(0.55, 1))
    # Growing: parcels left outside, mostly by the courier ParcelDash.
    outside = r"outside|doorstep|porch|by the bins|somebody else|dumped|behind the garden gate"
    assert _share(responses, texts, outside, at(0.8, 1)) > 2 * _share(responses, texts, outside, at(0, 0.5))
    # Steady: slow refunds, owned by billing.
    refund = r"refund"
    early, late = _share(responses, texts, refund, at(0, 0.5)), _share(responses, texts, refund, at(0.5, 1))
    assert early > 0.01 and 0.5 < late / early < 2
    refunds = [r for r in responses if re.search(refund, texts.get(r.id, ""), re.IGNORECASE)]
    assert sum(departments.get(r.department_id or 0) == "billing" for r in refunds) > 0.5 * len(refunds)

    # The outsourced contact centre resolves less at the first contact and scores lower.
    support = [r for r in responses if r.survey_id == support_id]

    def fcr_and_nps(contractor: str | None) -> tuple[float, float]:
        group = [r for r in support if r.contractor == contractor]
        scores = [r.nps for r in group if r.nps is not None]
        nps = 100 * (sum(s >= 9 for s in scores) - sum(s <= 6 for s in scores)) / len(scores)
        return sum(bool(r.first_contact_resolved) for r in group) / len(group), nps

    in_house, callbridge = fcr_and_nps(None), fcr_and_nps("Callbridge Solutions")
    assert callbridge[0] < in_house[0] - 0.1
    assert callbridge[1] < in_house[1] - 20

    # Long waits on hold go with a harder experience (lower CES).
    phone = [(r.wait_time_s, r.ces) for r in support if r.channel == "phone" and r.ces is not None]
    quick = [ces for wait, ces in phone if wait is not None and wait < 240]
    slow = [ces for wait, ces in phone if wait is not None and wait >= 720]
    assert statistics.fmean(slow) < statistics.fmean(quick) - 0.5


def test_the_same_call_makes_the_same_history() -> None:
    first, second = generate(1, 20, FIXED_NOW), generate(1, 20, FIXED_NOW)
    assert first.responses == second.responses
    assert first.invitations == second.invitations


@pytest.mark.parametrize(("months", "per_day"), [(0, 20), (1, 0)])
def test_an_empty_period_is_refused(sessions: sessionmaker[Session], months: int, per_day: int) -> None:
    with pytest.raises(InvalidInput):
        seed(sessions, months=months, responses_per_day=per_day)
    assert counts(sessions)["surveys"] == 0


def test_the_demo_command_seeds_then_describes(
    database_url: str, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    from feedback.cli import main

    monkeypatch.setenv("FEEDBACK_DATABASE_URL", database_url)
    monkeypatch.setenv("FEEDBACK_BASE_URL", "http://demo.test")
    monkeypatch.setenv("FEEDBACK_CAUSES_ENGINE", "default")
    monkeypatch.setenv("FEEDBACK_DIGEST_CHARTS", "0")
    runner = CliRunner()
    first = runner.invoke(main, ["demo", "--no-serve", "--months", "1", "--responses-per-day", "5"])
    assert first.exit_code == 0, first.output
    assert "http://demo.test/s/" in first.output and "fbk_" in first.output
    seeded = counts(sessions)
    assert seeded["responses"] > 0
    again = runner.invoke(main, ["demo", "--no-serve", "--months", "1", "--responses-per-day", "5"])
    assert again.exit_code == 0, again.output
    assert "already" in again.output and "Social mentions" not in again.output  # the loop ran once
    assert counts(sessions) == seeded


# -- the rest of the product: mentions, root causes with owners, the owners' actions, digests ----------------

# The planted problems (seed.py) and the department that owns each.
PLANTED = {
    "slow-refunds": ("billing", r"refund"),
    "parcels-left-outside": ("delivery", r"outside|doorstep|porch|bins|somebody else|dumped|garden gate"),
    "long-holds": ("support", r"hold|queue|wait"),
    "transfers": ("support", r"transfer|passed|department|explain|put through|different people|new person"),
    "app-login": ("digital", r"log ?in|logging me out|sign in|locked out|password"),
}


# The demo's history ends when it is built, so its counts near a cut-off move with the clock: built at
# 18:30 UTC on 2026-12-07, the app fix's check counted 4 login complaints after it where 3.9 were allowed
# (reopened, not verified). The story below is checked on one timeline, the same on every run.
STORY_AT = "2026-12-07T12:00"


def _run_demo_command(database_url: str, monkeypatch: pytest.MonkeyPatch, engine: str) -> str:
    from feedback.cli import main

    monkeypatch.setenv("FEEDBACK_DATABASE_URL", database_url)
    monkeypatch.setenv("FEEDBACK_BASE_URL", "http://demo.test")
    monkeypatch.setenv("FEEDBACK_CAUSES_ENGINE", engine)
    monkeypatch.setenv("FEEDBACK_DIGEST_CHARTS", "0")  # no browser needed; charts are tested with digests
    monkeypatch.delenv("FEEDBACK_SMTP_HOST", raising=False)
    args = ["demo", "--no-serve", "--months", "3", "--responses-per-day", "16", "--now", STORY_AT]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    return result.output


def test_the_demo_shows_mentions_causes_owners_actions_and_digests(
    database_url: str, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    from feedback.models import (
        Alert,
        Cause,
        CauseAssignment,
        CauseFollowup,
        CauseLedger,
        CauseStatus,
        Delivery,
        DigestRun,
        Mention,
    )

    output = _run_demo_command(database_url, monkeypatch, "default")
    with sessions() as session:
        slugs = dict(session.execute(select(Department.id, Department.slug)).all())

        # Mentions from several sources, through the ingest: scored, routed, noise flagged, stored once.
        mentions = session.scalars(select(Mention)).all()
        by_source: dict[str, int] = {}
        for mention in mentions:
            by_source[mention.source] = by_source.get(mention.source, 0) + 1
        assert set(by_source) == {"twitter", "mastodon", "reddit", "trustpilot", "appstore"}
        assert all(n >= 10 for n in by_source.values()), by_source
        assert len({(m.source, m.source_id) for m in mentions}) == len(mentions)
        assert all(m.polarity is not None and m.via == "import" for m in mentions)
        noise = {m.noise for m in mentions}
        assert {"repost", "copypasta", "short"} <= noise
        assert sum(m.noise is not None for m in mentions) < 0.35 * len(mentions)  # noise, not the bulk
        routed = {slugs[m.department_id] for m in mentions if m.department_id}
        assert {"billing", "delivery", "digital", "support"} <= routed
        refund_posts = [m for m in mentions if "refund" in m.text_norm.lower() and m.noise is None]
        assert refund_posts and all(slugs.get(m.department_id or 0) == "billing" for m in refund_posts)
        match = re.search(r"([\d,]+) re-delivered duplicates dropped", output)
        assert match and int(match.group(1).replace(",", "")) > 0

        # Each planted problem is a cause owned by the right department, with items that are about it.
        for key, (department, pattern) in PLANTED.items():
            cause = session.scalar(select(Cause).where(Cause.key == key))
            assert cause is not None, key
            assert cause.status == CauseStatus.ACTIVE and slugs[cause.department_id or 0] == department, key
            assert cause.size >= 5, (key, cause.size)
            texts = _assigned_texts(session, cause.id)
            on_topic = sum(bool(re.search(pattern, t, re.IGNORECASE)) for t in texts)
            assert on_topic >= 0.6 * len(texts), (key, on_topic, len(texts))
            periods = session.scalars(
                select(CauseLedger.period).where(CauseLedger.cause_id == cause.id)
            ).all()
            assert len(set(periods)) >= 3, key  # a ledger over the weeks, with a trend
        login = session.scalar(select(Cause).where(Cause.key == "app-login"))
        assert login is not None and login.origin == "discovered"  # found, not known beforehand
        assert session.scalar(
            select(func.count()).select_from(Cause).where(Cause.status == CauseStatus.CANDIDATE)
        )
        assert session.scalar(
            select(func.count()).select_from(CauseAssignment).where(CauseAssignment.mention_id.is_not(None))
        )

        # The owners' actions, and the fix check's verdicts.
        states = {
            key: state
            for key, state in session.execute(
                select(Cause.key, CauseFollowup.state).join(CauseFollowup, CauseFollowup.cause_id == Cause.id)
            )
        }
        assert states["slow-refunds"] == "acknowledged"
        assert states["parcels-left-outside"] == "in_progress"
        assert states["app-login"] in ("verified", "fixed")
        assert states["transfers"] in ("reopened", "fixed")
        fixed = session.scalar(
            select(CauseFollowup)
            .join(Cause, Cause.id == CauseFollowup.cause_id)
            .where(Cause.key == "app-login")
        )
        assert fixed is not None and fixed.fixed_at is not None and fixed.fix_note

        # A digest per department, built and stored, nothing sent or queued.
        runs = session.scalars(select(DigestRun)).all()
        assert sorted(slugs[r.department_id] for r in runs) == sorted(slugs.values())
        for run in runs:
            assert run.state == "held" and run.html and run.text and run.subject, slugs[run.department_id]
        owners = dict(session.execute(select(Cause.key, Cause.department_id)).all())
        reported = [(run, item) for run in runs for item in (run.content or {}).get("items", [])]
        # Several departments have problems to look at. Which ones besides support (the reopened transfers)
        # have one in the latest complete ledger week depends on the day the demo is made: the small demo the
        # tests use counts 0-3 refund or stock complaints a week, so billing and stores are quiet some weeks.
        assert len({run.id for run, _ in reported}) >= 2
        for run, item in reported:  # each digest carries its own department's causes, named in its text
            assert owners[item["cause"]] == run.department_id
            assert item["name"] in (run.text or "")
        if states["transfers"] == "reopened":  # a fix that did not hold is in the owner's next digest
            assert any(item["cause"] == "transfers" and "reopened" in item["marks"] for _, item in reported)
        # The broken checkout of the last hours is a spike: an alert for its owner, stored, not sent.
        alerts = session.scalars(select(Alert).where(Alert.kind == "spike")).all()
        checkout = session.scalar(select(Cause.id).where(Cause.key == "checkout-errors"))
        assert [(a.cause_id, slugs[a.department_id or 0]) for a in alerts] == [(checkout, "digital")]
        assert session.scalar(select(func.count()).select_from(Delivery)) == 0

    assert "Social mentions:" in output and "Digests, built and stored, not sent" in output
    assert "feedback digests log" in output and "http://demo.test/api/problems" in output
    assert "Spike: Checkout and payment page errors" in output


def _assigned_texts(session: Session, cause_id: int) -> list[str]:
    from feedback.models import CauseAssignment, Mention

    answers = session.scalars(
        select(Answer.text)
        .join(
            CauseAssignment,
            (CauseAssignment.response_id == Answer.response_id)
            & (CauseAssignment.question_id == Answer.question_id),
        )
        .where(CauseAssignment.cause_id == cause_id)
    ).all()
    mentions = session.scalars(
        select(Mention.text_norm)
        .join(CauseAssignment, CauseAssignment.mention_id == Mention.id)
        .where(CauseAssignment.cause_id == cause_id)
    ).all()
    return [t or "" for t in [*answers, *mentions]]


def test_a_demo_ending_in_the_future_is_refused(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from feedback.cli import main

    monkeypatch.setenv("FEEDBACK_DATABASE_URL", database_url)
    result = CliRunner().invoke(main, ["demo", "--no-serve", "--now", "2999-01-01"])
    assert result.exit_code == 2 and "--now" in result.output and "future" in result.output, result.output
