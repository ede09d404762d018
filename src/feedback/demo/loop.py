"""The rest of the product on the demo company: what the public says, root causes with owners, what the
owners did about them, and each department's latest digest.

After the surveys are seeded (seed.py), :func:`run_loop` goes through the real services, as a company would:

1. load the company's known causes (taxonomy.toml) and ingest months of public mentions (mentions.py);
2. run the analysis `feedback analyze` runs (engine from FEEDBACK_CAUSES_ENGINE, ``auto`` by default);
3. accept the discovered candidate about the app's login failures (the bug is new in the period, so no known
   cause covers it) for the department the analysis suggests; the other candidates wait for review;
4. act as the owners did: the app fix shipped half-way through (verified now), a new routing script for
   transfers three weeks ago (reopened: it transfers even more), parcels left outside under investigation,
   refunds acknowledged;
5. build each department's latest digest, and check for spikes (the checkout broke in the last hours): stored
   and not sent unless FEEDBACK_SMTP_HOST is set.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib.resources import as_file, files

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from feedback.analysis.causes.taxonomy import read_taxonomy
from feedback.causes.taxonomy import load_taxonomy
from feedback.config import Settings
from feedback.db import transaction
from feedback.demo.mentions import generate_mentions, ingest_mentions
from feedback.demo.seed import APP_BUG, HEADS, ROUTING_SCRIPT_DAYS
from feedback.models import AnalysisRun, Cause, CauseStatus, Department, Mention, RunState

Progress = Callable[[str], None]
LOGIN = re.compile(r"log ?in|logging me out|sign in|locked out|password", re.IGNORECASE)


@dataclass
class LoopReport:
    mentions_received: int = 0
    mentions_stored: int = 0
    mentions_duplicates: int = 0
    mentions_noise: int = 0
    sources: dict[str, int] = field(default_factory=dict)
    engine: str = ""
    analysis_seconds: float = 0.0
    owned: list[tuple[str, str, str, int]] = field(default_factory=list)  # department, key, name, items
    candidates: int = 0
    actions: list[str] = field(default_factory=list)
    digests: dict[str, str] = field(default_factory=dict)  # department -> run state
    alerts: list[str] = field(default_factory=list)  # titles of the spike alerts fired now
    digest_seconds: float = 0.0
    sent: bool = False


def loop_done(session: Session) -> bool:
    """Whether the demo's analysis has run already (the loop is then not run again)."""
    return (
        session.scalar(select(AnalysisRun.id).where(AnalysisRun.state == RunState.COMPLETE).limit(1))
        is not None
    )


def run_loop(
    sessions: sessionmaker[Session],
    settings: Settings,
    start: datetime,
    end: datetime,
    mentions_per_day: int,
    progress: Progress | None = None,
) -> LoopReport:
    """Steps 1-5 of the module docstring, for the demo history from ``start`` to ``end`` (now)."""
    say = progress or (lambda _: None)
    report = LoopReport()
    say("loading the known causes and ingesting social-media mentions")
    with as_file(files("feedback.demo") / "taxonomy.toml") as path:
        taxonomy = read_taxonomy(path)
    with transaction(sessions) as session:
        load_taxonomy(session, taxonomy, actor="demo")
    plan = generate_mentions(start, end, mentions_per_day)
    for source, outcome in ingest_mentions(sessions, settings, plan).items():
        report.sources[source] = outcome.stored
        report.mentions_received += outcome.rows
        report.mentions_stored += outcome.stored
        report.mentions_duplicates += outcome.duplicates
    with sessions() as session:
        report.mentions_noise = int(
            session.scalar(select(func.count()).select_from(Mention).where(Mention.noise.is_not(None))) or 0
        )

    say("finding root causes (feedback analyze)")
    _analyze(sessions, settings, report)
    with transaction(sessions) as session:
        _accept_login_candidate(session)
    say("recording what the owners did, building the digests")
    _act(sessions, settings, start, end, report)
    _summarize_causes(sessions, report)
    began = time.perf_counter()
    _digests(sessions, settings, end, report)
    report.digest_seconds = time.perf_counter() - began
    _alerts(sessions, settings, end, report)
    return report


def _alerts(sessions: sessionmaker[Session], settings: Settings, now: datetime, report: LoopReport) -> None:
    """The scheduler's spike check, now: the broken checkout of the last hours (mentions.py) is one."""
    from feedback.digests.alerts import check_spikes
    from feedback.models import Alert

    fired = check_spikes(sessions, settings, now, hold=not report.sent)
    with sessions() as session:
        report.alerts = list(
            session.scalars(select(Alert.title).where(Alert.id.in_(fired)).order_by(Alert.id))
        )


def _analyze(sessions: sessionmaker[Session], settings: Settings, report: LoopReport) -> None:
    from feedback.causes.analyze import AnalyzeOptions, analyze

    summary = analyze(sessions, AnalyzeOptions.from_settings(settings))
    report.engine = summary.engine
    report.analysis_seconds = summary.seconds


def _accept_login_candidate(session: Session) -> None:
    """Accept the largest discovered candidate about login failures for its suggested department, and
    merge the other login candidates into it (as an admin reviewing the candidates would)."""
    from feedback.causes.decisions import accept, merge

    candidates = session.scalars(
        select(Cause)
        .where(Cause.status == CauseStatus.CANDIDATE, Cause.suggested_department_id.is_not(None))
        .order_by(Cause.size.desc(), Cause.id)
    ).all()
    login = [c for c in candidates if LOGIN.search(" ".join([c.label, *c.verbatims]))]
    if not login:
        return
    owner = session.get(Department, login[0].suggested_department_id)
    assert owner is not None
    accept(session, login[0].key, owner.slug, actor="demo", name="App login failures", new_key="app-login")
    for other in login[1:]:
        merge(session, other.key, "app-login", actor="demo")


def _act(
    sessions: sessionmaker[Session], settings: Settings, start: datetime, end: datetime, report: LoopReport
) -> None:
    """The owners' actions, each at the time it happened, then the fix verification the scheduler runs."""
    from feedback.digests.loop import act, verify_fixes

    span = end - start
    fixed_app = start + span * APP_BUG[1]
    plan = [
        ("app-login", "acknowledge", fixed_app - timedelta(days=20), None),
        (
            "app-login",
            "in_progress",
            fixed_app - timedelta(days=12),
            "Reproduced: the update resets sessions",
        ),
        ("app-login", "fixed", fixed_app, "App 4.2.1 released: logins survive the update"),
        (
            "transfers",
            "fixed",
            end - timedelta(days=ROUTING_SCRIPT_DAYS),
            "New call routing script at Callbridge",
        ),
        (
            "slow-refunds",
            "acknowledge",
            end - timedelta(days=9),
            "Looking into the refund queue with finance",
        ),
        ("parcels-left-outside", "acknowledge", end - timedelta(days=12), None),
        ("parcels-left-outside", "in_progress", end - timedelta(days=6), "Investigating with ParcelDash"),
    ]
    with transaction(sessions) as session:
        for key, action, at, note in plan:
            cause = session.scalar(select(Cause).where(Cause.key == key, Cause.status == CauseStatus.ACTIVE))
            if cause is None or cause.department_id is None:
                continue
            slug = session.scalar(select(Department.slug).where(Department.id == cause.department_id))
            act(session, settings, cause, action, HEADS[slug][1] if slug in HEADS else "demo", at, note)
            what = {"acknowledge": "acknowledged", "in_progress": "in progress", "fixed": "fix shipped"}[
                action
            ]
            report.actions.append(f"{key} {what} {at:%Y-%m-%d}" + (f" ({note})" if note else ""))
    for verdict in verify_fixes(sessions, settings, end):
        report.actions.append(f"{verdict.cause} {verdict.outcome} by the fix check: {verdict.reason}")


def _summarize_causes(sessions: sessionmaker[Session], report: LoopReport) -> None:
    with sessions() as session:
        slugs = dict(session.execute(select(Department.id, Department.slug)).all())
        for cause in session.scalars(
            select(Cause).where(Cause.status == CauseStatus.ACTIVE).order_by(Cause.size.desc(), Cause.key)
        ):
            slug = slugs.get(cause.department_id) if cause.department_id else None
            report.owned.append((slug or "-", cause.key, cause.name, cause.size))
        report.candidates = int(
            session.scalar(
                select(func.count()).select_from(Cause).where(Cause.status == CauseStatus.CANDIDATE)
            )
            or 0
        )


def _digests(sessions: sessionmaker[Session], settings: Settings, now: datetime, report: LoopReport) -> None:
    from feedback.digests.schedule import produce_latest

    report.sent = bool(settings.smtp_host)
    produced = produce_latest(sessions, settings, now, hold=not report.sent)
    with sessions() as session:
        from feedback.models import DigestRun

        runs = produced.built + produced.held + produced.quiet + produced.failed
        for slug, state in session.execute(
            select(Department.slug, DigestRun.state)
            .join(DigestRun, DigestRun.department_id == Department.id)
            .where(DigestRun.id.in_(runs))
        ):
            report.digests[slug] = str(state)


def describe(report: LoopReport, base_url: str) -> str:
    """What the loop made and where to look, for the demo's closing output."""
    sources = ", ".join(
        f"{source} {n:,}" for source, n in sorted(report.sources.items(), key=lambda kv: -kv[1])
    )
    noise = f"{report.mentions_noise:,} flagged as noise (reposts, spam, short)"
    lines = [
        f"Social mentions: {report.mentions_stored:,} stored ({sources}); "
        f"{report.mentions_duplicates:,} re-delivered duplicates dropped, {noise}.",
        f"Root causes ({report.engine} engine, {report.analysis_seconds:.0f}s): {len(report.owned)} owned, "
        f"{report.candidates} discovered candidates to review.",
        *[f"  {slug:<9} {name} ({key}): {size:,} items" for slug, key, name, size in report.owned[:8]],
        "What the owners did:",
        *[f"  {line}" for line in report.actions],
    ]
    held = "sent" if report.sent else "built and stored, not sent (no FEEDBACK_SMTP_HOST)"
    digests = ", ".join(f"{slug} {state}" for slug, state in sorted(report.digests.items()))
    alerts = "; ".join(title.removeprefix("[feedback] ") for title in report.alerts) or "none"
    lines += [
        f"Alerts, {'sent' if report.sent else 'stored, not sent'}: {alerts}  ({base_url}/api/digests/alerts)",
        f"Digests, {held}: {digests}",
        "  feedback digests log;  feedback digest preview --department delivery --no-charts --output d.html",
        f"  {base_url}/api/digests/runs   {base_url}/api/departments/delivery/digest/preview",
        f"Causes, problems, mentions: {base_url}/api/causes {base_url}/api/problems {base_url}/api/mentions",
    ]
    return "\n".join(lines)
