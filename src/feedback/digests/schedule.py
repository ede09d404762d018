"""What is due, and producing it: claim a run, build the content, draw the charts, store, queue, deliver.

A department's schedule is a cron expression in its time zone. A digest is due at each fire time: its period
runs from the fire before to this one. The scheduler (feedback.scheduler) calls :func:`run_due` at the fire
times; after a restart a fire is caught up **once** if it is at most FEEDBACK_DIGEST_GRACE_S old, and a fire
older than that is recorded as ``missed`` by :func:`sweep`, which alerts the admins. Nothing here sleeps;
every function takes ``now``.

Exactly once, also with two schedulers at the same time: the ``digest_runs`` row, unique on (department,
period_key), is created insert-if-absent and is the lease (``lease_owner``, ``lease_until``). Only the
process that created it builds it; one that dies while building leaves a row whose lease expires, and the
next sweep takes it over with a conditional UPDATE. Deliveries are claimed the same way (outbox.py).

Building is read-only and happens outside any write transaction (SQLite has one writer; survey answers keep
being stored meanwhile). All the charts of one call are drawn in one browser session (charts.py).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from feedback.config import Settings
from feedback.db import transaction
from feedback.digests.admin import notify_admins
from feedback.digests.charts import ChartSpec, Rendered, digest_charts, render_pngs
from feedback.digests.content import Built, ChartRef, DigestRequest, build_digests, digest_to_json
from feedback.digests.cron import DEFAULT_LENGTH, fires_between, latest_fire, period_key, period_of
from feedback.digests.health import alarm
from feedback.digests.loop import note_reported
from feedback.digests.outbox import FINAL, DeliveryReport, deliver_due, finish_runs
from feedback.digests.recipients import department_targets, enqueue
from feedback.digests.render import data_uri_src, render_digest
from feedback.errors import Conflict, InvalidInput, NotFound
from feedback.models import Delivery, DeliveryState, Department, DigestChart, DigestRun, RunStatus

log = logging.getLogger(__name__)

BUILD_LEASE = timedelta(minutes=10)
MISSED_LOOKBACK = timedelta(days=35)
MISSED_PER_DEPARTMENT = 5


# -- claiming ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    run_id: int
    department_id: int


def claim_run(
    sessions: sessionmaker[Session],
    department: Department,
    key: str,
    kind: str,
    scheduled_for: datetime,
    start: datetime,
    end: datetime,
    owner: str,
    now: datetime,
) -> Claim | None:
    """Create the run (the lease) if nobody has; take over one whose builder died; else None."""
    try:
        with transaction(sessions) as session:
            run = DigestRun(
                department_id=department.id,
                period_key=key,
                kind=kind,
                scheduled_for=scheduled_for,
                period_start=start,
                period_end=end,
                state=RunStatus.BUILDING,
                lease_owner=owner,
                lease_until=now + BUILD_LEASE,
                created_at=now,
                subject="",
                items=0,
                quiet=False,
                warnings=[],
            )
            session.add(run)
            session.flush()
            return Claim(run.id, department.id)
    except IntegrityError:
        pass  # it exists: someone else is building it, or built it
    return _take_over(sessions, department.id, key, owner, now)


def _take_over(
    sessions: sessionmaker[Session], department_id: int, key: str, owner: str, now: datetime
) -> Claim | None:
    with transaction(sessions) as session:
        moved = session.execute(
            update(DigestRun)
            .where(
                DigestRun.department_id == department_id,
                DigestRun.period_key == key,
                DigestRun.state == RunStatus.BUILDING,
                DigestRun.lease_until < now,
            )
            .values(lease_owner=owner, lease_until=now + BUILD_LEASE)
            .execution_options(synchronize_session=False)
        )
        if getattr(moved, "rowcount", 0) != 1:
            return None
        run_id = session.scalar(
            select(DigestRun.id).where(DigestRun.department_id == department_id, DigestRun.period_key == key)
        )
        assert run_id is not None
        log.warning("digest run %s: the process building it stopped; taken over", run_id)
        return Claim(run_id, department_id)


# -- producing -----------------------------------------------------------------------------------------------


@dataclass
class RunReport:
    built: list[int] = field(default_factory=list)  # run ids stored by this call
    quiet: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    held: list[int] = field(default_factory=list)  # stored, not sent (produce's ``hold``)
    deliveries: DeliveryReport = field(default_factory=DeliveryReport)


def _requests(session: Session, claims: Sequence[Claim]) -> list[DigestRequest]:
    out = []
    for claim in claims:
        run = session.get(DigestRun, claim.run_id)
        department = session.get(Department, claim.department_id)
        assert run is not None and department is not None
        out.append(DigestRequest(department, run.period_start, run.period_end, run.id))
    return out


def _build(
    sessions: sessionmaker[Session], settings: Settings, claims: Sequence[Claim], now: datetime
) -> tuple[list[Built], dict[int, str]]:
    """Build all claimed digests at once; when that fails, one by one (one bad department fails alone)."""
    with sessions() as session:
        requests = _requests(session, claims)
        try:
            return build_digests(session, settings, requests, now), {}
        except Exception:
            log.exception("building %s digests at once failed; building them one by one", len(requests))
            session.rollback()
        built, errors = [], {}
        for request in requests:
            try:
                built += build_digests(session, settings, [request], now)
            except Exception as error:
                log.exception("building the digest of %s failed", request.department.slug)
                session.rollback()
                assert request.run_id is not None
                errors[request.run_id] = f"{type(error).__name__}: {error}"[:2000]
        return built, errors


def _fail(
    sessions: sessionmaker[Session], settings: Settings, run_id: int, owner: str, error: str, now: datetime
) -> None:
    with transaction(sessions) as session:
        run = session.get(DigestRun, run_id)
        if run is None or run.lease_owner != owner:
            return
        run.state, run.error, run.finished_at, run.lease_owner, run.lease_until = (
            RunStatus.FAILED,
            error,
            now,
            None,
            None,
        )
        department = session.get(Department, run.department_id)
        notify_admins(
            session,
            settings,
            now,
            subject=f"digest-failed:{run.id}",
            title=f"[feedback] The digest for {department.name if department else run.department_id} "
            f"({run.period_key}) could not be built",
            text=f"{error}\n\nSee `feedback digests log`.",
            runs=[run],
        )


def _store(
    sessions: sessionmaker[Session],
    settings: Settings,
    built: Built,
    specs: Sequence[ChartSpec],
    rendered: Rendered,
    owner: str,
    now: datetime,
    hold: bool = False,
) -> str | None:
    """Store a built digest and queue its deliveries (``hold``: none), in one transaction; the run's new
    state."""
    digest = built.digest
    assert digest.run_id is not None
    with transaction(sessions) as session:
        run = session.get(DigestRun, digest.run_id)
        if run is None or run.state != RunStatus.BUILDING or run.lease_owner != owner:
            log.warning("digest run %s is no longer ours; not stored", digest.run_id)
            return None
        department = session.get(Department, run.department_id)
        assert department is not None
        digest.charts = [ChartRef(s.cid, s.title, s.alt) for s in specs if s.cid in rendered.images]
        message = render_digest(digest, settings.digest_link_days)
        run.content = digest_to_json(digest)
        run.subject, run.html, run.text = message.subject[:300], message.html, message.text
        run.items, run.quiet, run.built_at = len(digest.items), digest.quiet, now
        run.warnings = [rendered.errors[s.cid] for s in specs if s.cid in rendered.errors]
        run.lease_owner = run.lease_until = None
        for spec in specs:
            if spec.cid in rendered.images:
                session.add(
                    DigestChart(
                        run_id=run.id, cid=spec.cid, title=spec.title[:200], png=rendered.images[spec.cid]
                    )
                )
        if digest.quiet and department.quiet_period == "nothing":
            run.state, run.finished_at = RunStatus.QUIET, now
            return run.state
        if hold:
            run.state, run.finished_at = RunStatus.HELD, now
            return run.state
        targets = department_targets(session, department.id)
        if not targets:
            run.state, run.finished_at, run.error = (
                RunStatus.FAILED,
                now,
                "the department has no heads or channels",
            )
            notify_admins(
                session,
                settings,
                now,
                subject=f"digest-failed:{run.id}",
                title=f"[feedback] The digest for {department.name} has nobody to go to",
                text=f"Digest run {run.id} ({run.period_key}) was built, but {department.slug} has no "
                "heads and no channels. Add them with `feedback departments load` or POST /api/departments.",
                runs=[run],
            )
            return run.state
        enqueue(
            session, message_key=f"digest:{run.id}", purpose="digest", targets=targets, now=now, run_id=run.id
        )
        run.state = RunStatus.SENDING
        note_reported(session, built.reported, now, department.acknowledge_days, actor=f"digest {run.id}")
        return run.state


def produce(
    sessions: sessionmaker[Session],
    settings: Settings,
    claims: Sequence[Claim],
    now: datetime,
    owner: str,
    hold: bool = False,
) -> RunReport:
    """Build, draw, store, queue and deliver the claimed runs (one chart batch for all of them); ``hold``
    stores them as ``held`` with nothing queued or sent."""
    report = RunReport()
    if not claims:
        return report
    built, errors = _build(sessions, settings, claims, now)
    for run_id, error in errors.items():
        _fail(sessions, settings, run_id, owner, error, now)
        report.failed.append(run_id)
    specs = {
        b.digest.run_id: digest_charts(b.digest, b.trend, str(b.digest.run_id))
        if settings.digest_charts
        else []
        for b in built
    }
    with sessions() as session:
        silent = set(session.scalars(select(Department.slug).where(Department.quiet_period == "nothing")))
    quiet_nothing = {b.digest.run_id for b in built if b.digest.quiet and b.digest.department in silent}
    rendered = render_pngs(
        [s for run_id, group in specs.items() if run_id not in quiet_nothing for s in group]
    )
    for b in built:
        state = _store(sessions, settings, b, specs[b.digest.run_id], rendered, owner, now, hold)
        assert b.digest.run_id is not None
        if state == RunStatus.QUIET:
            report.quiet.append(b.digest.run_id)
        elif state == RunStatus.FAILED:
            report.failed.append(b.digest.run_id)
        elif state == RunStatus.HELD:
            report.held.append(b.digest.run_id)
        elif state is not None:
            report.built.append(b.digest.run_id)
    if report.built:
        report.deliveries = deliver_due(sessions, settings, now, run_ids=report.built)
    if report.failed:  # the notices to the admins, at once
        deliver_due(sessions, settings, now, admin_notices=True)
    return report


# -- entry points --------------------------------------------------------------------------------------------


def schedule_key(cron: str, tz: str) -> str:
    """The scheduler job that runs every department sharing this schedule (one chart batch for all)."""
    return f"digests {cron} @ {tz}"


def scheduled_departments(session: Session, schedule: str | None = None) -> list[Department]:
    departments = session.scalars(
        select(Department).where(Department.digest_schedule.is_not(None)).order_by(Department.slug)
    ).all()
    return [
        d
        for d in departments
        if d.digest_schedule and (schedule is None or schedule_key(d.digest_schedule, d.timezone) == schedule)
    ]


def run_due(
    sessions: sessionmaker[Session], settings: Settings, now: datetime, schedule: str | None = None
) -> RunReport:
    """Produce every digest whose latest fire time is at most the grace period old and has no run yet."""
    owner = uuid.uuid4().hex
    grace = timedelta(seconds=settings.digest_grace_s)
    claims = []
    with sessions() as session:
        departments = scheduled_departments(session, schedule)
        existing = (
            {
                (d, k)
                for d, k in session.execute(
                    select(DigestRun.department_id, DigestRun.period_key).where(
                        DigestRun.period_end >= now - grace - timedelta(days=400)
                    )
                )
            }
            if departments
            else set()
        )
    for department in departments:
        assert department.digest_schedule is not None
        fire = latest_fire(department.digest_schedule, department.timezone, now)
        since = department.digest_schedule_since
        if fire is None or (since is not None and fire < since) or now - fire > grace:
            continue
        key = period_key(fire)
        if (department.id, key) in existing:
            continue
        start, end = period_of(department.digest_schedule, department.timezone, fire)
        claim = claim_run(sessions, department, key, "scheduled", fire, start, end, owner, now)
        if claim is not None:
            claims.append(claim)
    return produce(sessions, settings, claims, now, owner)


def send_now(sessions: sessionmaker[Session], settings: Settings, slug: str, now: datetime) -> RunReport:
    """A digest for the period ending now (as long as the department's usual period), sent at once."""
    owner = uuid.uuid4().hex
    with sessions() as session:
        department = _department(session, slug)
        unfinished = _unfinished_manual(session, department.id)
    if unfinished is not None:
        raise Conflict(
            f"a digest for {slug} is still being sent (run {unfinished}); it is not sent twice. If the "
            "process sending it stopped, the scheduler delivers it within minutes "
            "(`feedback scheduler --once`); see `feedback digests log`"
        )
    start = now - _length(department, now)
    claim = claim_run(
        sessions,
        department,
        f"manual:{now.astimezone(UTC):%Y-%m-%dT%H:%M:%S.%fZ}",
        "manual",
        now,
        start,
        now,
        owner,
        now,
    )
    if claim is None:
        raise InvalidInput.on("department", "a digest for this very moment is already being sent")
    return produce(sessions, settings, [claim], now, owner)


def produce_latest(
    sessions: sessionmaker[Session], settings: Settings, now: datetime, hold: bool = False
) -> RunReport:
    """Each scheduled department's digest for its latest period (the one ending at its last fire time),
    unless that exists; ``hold`` stores them without sending. The scheduler will not send them again."""
    owner = uuid.uuid4().hex
    claims = []
    with sessions() as session:
        departments = scheduled_departments(session)
    for department in departments:
        assert department.digest_schedule is not None
        fire = latest_fire(department.digest_schedule, department.timezone, now)
        if fire is None:
            continue
        start, end = period_of(department.digest_schedule, department.timezone, fire)
        claim = claim_run(sessions, department, period_key(fire), "scheduled", fire, start, end, owner, now)
        if claim is not None:
            claims.append(claim)
    return produce(sessions, settings, claims, now, owner, hold)


def _unfinished_manual(session: Session, department_id: int) -> int | None:
    """A manual digest of the department still being built or sent (a rerun after a crash must not add a
    second digest beside it: the sweep and the outbox finish it once its lease expires)."""
    undelivered = select(Delivery.id).where(Delivery.run_id == DigestRun.id, Delivery.state.not_in(FINAL))
    return session.scalar(
        select(DigestRun.id)
        .where(
            DigestRun.department_id == department_id,
            DigestRun.kind == "manual",
            or_(
                DigestRun.state == RunStatus.BUILDING,
                and_(DigestRun.state == RunStatus.SENDING, undelivered.exists()),
            ),
        )
        .order_by(DigestRun.id.desc())
        .limit(1)
    )


def _department(session: Session, slug: str) -> Department:
    department = session.scalar(select(Department).where(Department.slug == slug))
    if department is None:
        raise NotFound(f"unknown department {slug!r}")
    return department


def _length(department: Department, now: datetime) -> timedelta:
    if not department.digest_schedule:
        return DEFAULT_LENGTH
    fire = latest_fire(department.digest_schedule, department.timezone, now)
    if fire is None:
        return DEFAULT_LENGTH
    start, end = period_of(department.digest_schedule, department.timezone, fire)
    return end - start


def preview(
    sessions: sessionmaker[Session], settings: Settings, slug: str, now: datetime, charts: bool = True
) -> tuple[str, list[str]]:
    """The HTML of the digest the department would get now (charts as data: URIs), and any warnings.
    Stores nothing and starts no acknowledgement clock."""
    with sessions() as session:
        department = _department(session, slug)
        request = DigestRequest(department, now - _length(department, now), now, None)
        built = build_digests(session, settings, [request], now)[0]
    specs = digest_charts(built.digest, built.trend, "preview") if charts else []
    rendered = render_pngs(specs)
    built.digest.charts = [ChartRef(s.cid, s.title, s.alt) for s in specs if s.cid in rendered.images]
    message = render_digest(built.digest, settings.digest_link_days, data_uri_src(rendered.images))
    return message.html, list(rendered.errors.values())


@dataclass
class SweepReport:
    missed: list[int] = field(default_factory=list)
    taken_over: RunReport = field(default_factory=RunReport)
    finished: int = 0
    alarm: int | None = None  # the admin notice about failing deliveries, if one was raised now
    notices: DeliveryReport = field(default_factory=DeliveryReport)


def sweep(sessions: sessionmaker[Session], settings: Settings, now: datetime) -> SweepReport:
    """Record digests that were due and not sent in time (missed: the admins hear of it), rebuild runs whose
    builder died, close runs whose deliveries are all done, alarm the admins about deliveries failing or
    overdue (health.py), and send every notice to the admins at once. Safe to run any number of times."""
    report = SweepReport()
    grace = timedelta(seconds=settings.digest_grace_s)
    owner = uuid.uuid4().hex
    with sessions() as session:
        departments = scheduled_departments(session, None)
    for department in departments:
        assert department.digest_schedule is not None
        start = max(now - MISSED_LOOKBACK, department.digest_schedule_since or now - MISSED_LOOKBACK)
        fires = fires_between(
            department.digest_schedule, department.timezone, start - timedelta(microseconds=1), now - grace
        )
        for fire in fires[-MISSED_PER_DEPARTMENT:]:
            run_id = _record_missed(sessions, department, fire, now)
            if run_id is not None:
                report.missed.append(run_id)
    if report.missed:
        with transaction(sessions) as session:
            runs = session.scalars(
                select(DigestRun).where(DigestRun.id.in_(report.missed)).order_by(DigestRun.id)
            ).all()
            names = dict(session.execute(select(Department.id, Department.name)).all())
            lines = [
                f"- {names.get(r.department_id)}: due {r.scheduled_for:%Y-%m-%d %H:%M} UTC" for r in runs
            ]
            notify_admins(
                session,
                settings,
                now,
                subject="digests-missed",
                title=f"[feedback] {len(runs)} digest(s) were not sent: the scheduler was not running",
                text="These digests were due and not sent within the grace period "
                f"({settings.digest_grace_s // 60} min):\n"
                + "\n".join(lines)
                + "\n\nIs `feedback scheduler` running? "
                "Send one by hand with `feedback digest send --department X`.",
                runs=runs,
            )
    report.taken_over = _resume_stale(sessions, settings, now, owner, grace)
    with sessions() as session:
        open_runs = session.scalars(select(DigestRun.id).where(DigestRun.state == RunStatus.SENDING)).all()
        still = (
            set(
                session.scalars(
                    select(Delivery.run_id).where(
                        Delivery.run_id.in_(open_runs),
                        Delivery.state.not_in((DeliveryState.SENT, DeliveryState.FAILED)),
                    )
                ).all()
            )
            if open_runs
            else set()
        )
    done = [r for r in open_runs if r not in still]
    finish_runs(sessions, settings, done, now)
    report.finished = len(done)
    report.alarm = alarm(sessions, settings, now)
    report.notices = deliver_due(sessions, settings, now, admin_notices=True)  # in this run, not the next
    return report


def _record_missed(
    sessions: sessionmaker[Session], department: Department, fire: datetime, now: datetime
) -> int | None:
    assert department.digest_schedule is not None
    start, end = period_of(department.digest_schedule, department.timezone, fire)
    try:
        with transaction(sessions) as session:
            run = DigestRun(
                department_id=department.id,
                period_key=period_key(fire),
                kind="scheduled",
                scheduled_for=fire,
                period_start=start,
                period_end=end,
                state=RunStatus.MISSED,
                created_at=now,
                finished_at=now,
                subject="",
                items=0,
                quiet=False,
                warnings=[],
                error="not sent within the grace period: the scheduler was not running at "
                f"{fire:%Y-%m-%d %H:%M} UTC",
            )
            session.add(run)
            session.flush()
            log.error("digest of %s due %s was missed", department.slug, period_key(fire))
            return run.id
    except IntegrityError:
        return None


def _resume_stale(
    sessions: sessionmaker[Session], settings: Settings, now: datetime, owner: str, grace: timedelta
) -> RunReport:
    with sessions() as session:
        stale = session.execute(
            select(DigestRun.department_id, DigestRun.period_key, DigestRun.scheduled_for).where(
                DigestRun.state == RunStatus.BUILDING, DigestRun.lease_until < now
            )
        ).all()
    claims = []
    for department_id, key, scheduled_for in stale:
        claim = _take_over(sessions, department_id, key, owner, now)
        if claim is None:
            continue
        if now - scheduled_for > grace:
            _fail(
                sessions,
                settings,
                claim.run_id,
                owner,
                "the process building it stopped, and the grace period is over",
                now,
            )
            continue
        claims.append(claim)
    return produce(sessions, settings, claims, now, owner)


def tick(sessions: sessionmaker[Session], settings: Settings, now: datetime) -> RunReport:
    """Everything the scheduler does, once (for tests and `feedback scheduler --once`): due digests, retries,
    the sweep."""
    report = run_due(sessions, settings, now)
    report.deliveries.add(deliver_due(sessions, settings, now))
    sweep(sessions, settings, now)
    return report
