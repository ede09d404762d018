"""When digests are due: on the department's cron in its time zone; a missed run is caught up once within
the grace period, or recorded as missed (and the admins alerted) after it; quiet periods; crashed builders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from feedback.db import transaction
from feedback.digests import outbox, schedule
from feedback.digests.cron import fires_between, latest_fire, period_of
from feedback.models import Alert, Delivery, DigestRun, RunStatus
from tests.digests import data
from tests.digests.conftest import World


def runs(sessions) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    with sessions() as session:
        return [
            (r.period_key, r.state)
            for r in session.scalars(select(DigestRun).order_by(DigestRun.scheduled_for))
        ]


def test_cron_in_the_departments_time_zone() -> None:
    winter = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)  # a Wednesday
    assert latest_fire("0 8 * * mon", "Europe/Berlin", winter) == datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
    summer = datetime(2026, 7, 8, 12, 0, tzinfo=UTC)
    assert latest_fire("0 8 * * mon", "Europe/Berlin", summer) == datetime(2026, 7, 6, 6, 0, tzinfo=UTC)
    start, end = period_of("0 8 * * mon", "Europe/Berlin", datetime(2026, 3, 30, 6, 0, tzinfo=UTC))
    assert (start, end) == (datetime(2026, 3, 23, 7, 0, tzinfo=UTC), datetime(2026, 3, 30, 6, 0, tzinfo=UTC))
    assert len(fires_between("0 8 * * *", "UTC", data.T0, data.T0 + timedelta(days=3))) == 3


def test_a_run_missed_while_down_is_caught_up_once_within_the_grace_period(
    sessions, settings, smtp, world
) -> None:
    late = data.T0 + timedelta(hours=2)  # the scheduler comes back two hours after the 08:00 digest was due
    first = schedule.run_due(sessions, settings, late)
    again = schedule.run_due(sessions, settings, late + timedelta(minutes=1))
    schedule.tick(sessions, settings, late + timedelta(minutes=2))
    assert len(first.built) == 1 and not again.built
    assert runs(sessions) == [("2026-03-02T08:00Z", "sent")] and len(smtp.messages()) == 1


def test_runs_missed_past_the_grace_period_are_recorded_and_the_admins_alerted(
    sessions, settings, smtp, world
) -> None:
    back = data.T0 + timedelta(days=3, hours=1)  # down for three days, back an hour after the fourth digest
    schedule.tick(sessions, settings, back)
    [notice_mail] = smtp.by_recipient()["admin@example.com"]  # sent in the run that found the miss
    assert "3 digest(s) were not sent" in notice_mail["Subject"]
    schedule.tick(sessions, settings, back + timedelta(minutes=5))  # nothing more: recorded once
    assert runs(sessions) == [
        ("2026-03-02T08:00Z", "missed"),
        ("2026-03-03T08:00Z", "missed"),
        ("2026-03-04T08:00Z", "missed"),
        ("2026-03-05T08:00Z", "sent"),  # the latest, within grace: caught up once
    ]
    with sessions() as session:
        [notice] = session.scalars(select(Alert)).all()
        missed = session.scalars(select(DigestRun).where(DigestRun.state == "missed")).all()
    assert notice.kind == "admin" and "3 digest(s) were not sent" in notice.title
    assert all(r.admin_alerted_at is not None and "grace period" in (r.error or "") for r in missed)
    mail = smtp.by_recipient()
    assert len(mail["head@example.com"]) == 1 and "were not sent" in mail["admin@example.com"][0]["Subject"]


def test_fires_before_the_schedule_was_set_are_neither_due_nor_missed(sessions, settings, smtp) -> None:
    data.department(sessions, "billing", since=data.T0 + timedelta(hours=3))
    schedule.tick(sessions, settings, data.T0 + timedelta(hours=4))
    assert runs(sessions) == []
    schedule.tick(sessions, settings, data.T0 + timedelta(days=1))
    assert runs(sessions) == [("2026-03-03T08:00Z", "sent")]


def test_a_quiet_period_sends_a_short_note_or_nothing_as_the_department_chose(
    sessions, settings, smtp
) -> None:
    data.department(sessions, "billing", heads=[("B", "billing@example.com")])
    data.department(sessions, "stores", heads=[("S", "stores@example.com")], quiet_period="nothing")
    report = schedule.run_due(sessions, settings, data.T0)
    assert len(report.built) == 1 and len(report.quiet) == 1
    mail = smtp.by_recipient()
    assert (
        list(mail) == ["billing@example.com"] and "nothing new" in mail["billing@example.com"][0]["Subject"]
    )
    with sessions() as session:
        states = session.scalars(select(DigestRun.state)).all()
    assert sorted(states) == ["quiet", "sent"]


def test_a_department_nobody_would_hear_from_is_an_error_for_the_admins(sessions, settings, smtp) -> None:
    data.department(sessions, "billing", heads=[])
    report = schedule.run_due(sessions, settings, data.T0)
    assert len(report.failed) == 1
    with sessions() as session:
        run = session.scalars(select(DigestRun)).one()
        notice = session.scalars(select(Alert)).one()
    assert run.state == "failed" and run.error == "the department has no heads or channels"
    assert "has nobody to go to" in notice.title


def test_a_run_whose_builder_died_is_taken_over_after_its_lease(
    sessions, settings, smtp, world: World
) -> None:
    crashed = data.T0 + timedelta(minutes=1)
    with transaction(sessions) as session:  # what a process that died while building leaves behind
        session.add(
            DigestRun(
                department_id=world.department,
                period_key="2026-03-02T08:00Z",
                kind="scheduled",
                scheduled_for=data.T0,
                period_start=data.T0 - timedelta(days=1),
                period_end=data.T0,
                state=RunStatus.BUILDING,
                lease_owner="dead",
                lease_until=crashed + timedelta(minutes=10),
                created_at=crashed,
                subject="",
                items=0,
                quiet=False,
                warnings=[],
            )
        )
    schedule.tick(sessions, settings, crashed + timedelta(minutes=5))  # the lease still holds: hands off
    assert runs(sessions) == [("2026-03-02T08:00Z", "building")]
    schedule.tick(sessions, settings, crashed + timedelta(minutes=12))
    assert runs(sessions) == [("2026-03-02T08:00Z", "sent")] and len(smtp.messages()) == 1


def test_a_crashed_senders_claim_expires_and_the_delivery_is_retried(sessions, settings, smtp, world) -> None:
    now = datetime.now(UTC)  # claims live on the real clock: they are about live processes
    smtp.stop()
    schedule.send_now(sessions, settings, "support", now)
    with transaction(sessions) as session:  # a sender claimed it, then died
        session.execute(
            update(Delivery).values(
                state="sending", lease_owner="dead", lease_until=now + timedelta(minutes=5)
            )
        )
    smtp.start()
    outbox.deliver_due(sessions, settings, now + timedelta(minutes=4))
    assert smtp.messages() == []
    outbox.deliver_due(sessions, settings, now + timedelta(minutes=6))
    assert len(smtp.messages()) == 1
    with sessions() as session:
        delivery = session.scalars(select(Delivery)).one()
    assert delivery.state == "sent" and delivery.attempts == 2
