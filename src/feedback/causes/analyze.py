"""One analysis run: read the feedback, assign negative items to known causes, discover repeated new ones,
keep their identity from the last run, rebuild assignments and the ledger.

Safe to re-run and to kill: the run's row is committed first as ``running``; everything it finds is written
in one transaction that also marks it ``complete``. A run that fails is marked ``failed`` with its error; a
run killed half-way stays ``running`` until the next run marks it ``failed`` (interrupted). Either way the
previous complete run's causes, assignments and ledger are untouched. Two runs at once (two machines' cron):
the first to finish writes; the other fails as superseded instead of creating the same candidates again.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Protocol

import numpy as np
import polars as pl
from sqlalchemy import Engine as SAEngine
from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from feedback.analysis.causes.engines import Engine, pick_engine
from feedback.analysis.causes.match import Matching, Signature, match_clusters
from feedback.analysis.causes.pipeline import (
    BatchResult,
    CauseParams,
    FoundCluster,
    run_batch,
    suggest_owners,
)
from feedback.analysis.causes.recurrence import Grain
from feedback.analysis.scales import DEFAULT_CUTOFFS, Cutoffs
from feedback.causes.events import record
from feedback.causes.items import Items, read_items
from feedback.causes.ledger import write_ledger
from feedback.causes.taxonomy import active_causes, department_ids, spec_of
from feedback.config import Settings
from feedback.db import transaction
from feedback.errors import Conflict
from feedback.faults import pause_point
from feedback.models import AnalysisRun, Cause, CauseAssignment, CauseStatus, RunState, utcnow
from feedback.responses.dissatisfied import survey_cutoffs


class Progress(Protocol):
    """Told each stage of a run; within a long stage, also how far it is (``done`` of ``total`` steps)."""

    def __call__(self, stage: str, done: float | None = None, total: int | None = None) -> None: ...


def _quiet(stage: str, done: float | None = None, total: int | None = None) -> None:
    """Progress nobody watches."""


# Discovered causes a new cluster can be recognised as (an accepted one too: its items may fit it loosely).
KNOWN_STATUSES = (CauseStatus.CANDIDATE, CauseStatus.DISMISSED, CauseStatus.MERGED, CauseStatus.ACTIVE)
WRITE_LOCK = 7_253_001  # PostgreSQL advisory lock: two runs write one after the other, never interleaved


@dataclass(frozen=True)
class AnalyzeOptions:
    engine: str = "auto"
    min_size: int = 5
    assign_threshold: float | None = None
    match_threshold: float = 0.5
    period: Grain = "week"
    since: datetime | None = None
    neighbours: int | None = None
    resolution: float | None = None  # None: chosen from the data
    resolution_range: tuple[float, float] = CauseParams.resolution_range
    tolerance: float | None = None  # None: the engine's default
    scan_size: int = CauseParams.scan_size
    margin: float = CauseParams.margin
    member_similarity: float = CauseParams.member_similarity
    second_order: bool | None = None  # None: the engine's default
    cutoffs: Cutoffs = DEFAULT_CUTOFFS  # which feedback is negative (analysis/scales.py)

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> AnalyzeOptions:
        period: Grain = "month" if settings.causes_period == "month" else "week"
        options = cls(
            engine=settings.causes_engine,
            min_size=settings.causes_min_size,
            assign_threshold=settings.causes_assign_threshold,
            match_threshold=settings.causes_match_threshold,
            period=period,
            neighbours=settings.causes_neighbours,
            resolution=settings.causes_resolution,
            resolution_range=settings.causes_resolution_range,
            tolerance=settings.causes_tolerance,
            scan_size=settings.causes_scan_size,
            margin=settings.causes_margin,
            member_similarity=settings.causes_member_similarity,
            second_order=settings.causes_second_order,
            cutoffs=settings.cutoffs,
        )
        return cls(**{**options.__dict__, **{k: v for k, v in overrides.items() if v is not None}})

    def cause_params(self) -> CauseParams:
        return CauseParams(
            min_size=self.min_size, assign_threshold=self.assign_threshold, neighbours=self.neighbours,
            resolution=self.resolution, resolution_range=self.resolution_range, tolerance=self.tolerance,
            scan_size=self.scan_size, margin=self.margin, member_similarity=self.member_similarity,
            second_order=self.second_order,
        )  # fmt: skip


@dataclass
class RunSummary:
    run_id: int
    engine: str
    items_total: int = 0
    items_negative: int = 0
    items_assigned: int = 0
    items_clustered: int = 0
    causes_seen: int = 0
    changes: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    resolution: float | None = None  # of discovery (chosen from the data unless set)

    @property
    def items_unexplained(self) -> int:
        """Negative items that fit no known cause and no repeated cluster."""
        return self.items_negative - self.items_assigned - self.items_clustered

    @property
    def coverage(self) -> float:
        """Share of the negative items explained by a known cause or a repeated cluster."""
        return 1 - self.items_unexplained / self.items_negative if self.items_negative else 0.0


def _start(sessions: sessionmaker[Session], engine: str, options: AnalyzeOptions) -> int:
    with transaction(sessions) as session:
        for stale in session.scalars(select(AnalysisRun).where(AnalysisRun.state == RunState.RUNNING)):
            stale.state = RunState.FAILED
            stale.finished_at = utcnow()
            stale.error = "interrupted: the process stopped before the run completed"
        params = {
            k: (str(v) if isinstance(v, datetime) else list(v) if isinstance(v, tuple) else v)
            for k, v in options.__dict__.items()
            if k != "cutoffs"
        }
        # which feedback this run counted as negative (with each survey's own bands, by survey id)
        params["cutoffs"] = asdict(survey_cutoffs(session, options.cutoffs))
        run = AnalysisRun(state=RunState.RUNNING, engine=engine, started_at=utcnow(), params=params)
        session.add(run)
        session.flush()
        return run.id


def _claim_write(session: Session, run_id: int) -> None:
    """Take the write lock, then refuse to write over a run that completed while this one computed.

    Such a run's candidates were not among the known causes this run matched against, so writing would
    create them twice. The run that completed first stands; this one fails with the reason (run again).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": WRITE_LOCK})
    else:  # a write first: SQLite takes its write lock now, so the check below sees the latest commit
        session.execute(update(AnalysisRun).where(AnalysisRun.id == run_id).values(state=RunState.RUNNING))
    started = session.scalar(select(AnalysisRun.started_at).where(AnalysisRun.id == run_id))
    newer = session.scalar(
        select(func.min(AnalysisRun.id)).where(
            AnalysisRun.id != run_id,
            AnalysisRun.state == RunState.COMPLETE,
            AnalysisRun.finished_at >= started,
        )
    )
    if newer is not None:
        raise Conflict(f"analysis run {newer} completed while run {run_id} was computing; its results stand")


def analyze(
    sessions: sessionmaker[Session],
    options: AnalyzeOptions,
    progress: Progress | None = None,
    engine: Engine | None = None,
) -> RunSummary:
    """One complete analysis run (see the module docstring); raises after recording a failure."""
    started = time.perf_counter()
    engine = engine or pick_engine(options.engine)
    run_id = _start(sessions, engine.name, options)
    try:
        summary = _run(sessions, run_id, options, engine, progress or _quiet)
    except BaseException as error:
        with transaction(sessions) as session:
            run = session.get(AnalysisRun, run_id)
            if run is not None:
                run.state = RunState.FAILED
                run.finished_at = utcnow()
                run.error = f"{type(error).__name__}: {error}"[:4000]
        raise
    summary.seconds = time.perf_counter() - started
    return summary


def _item_key(a: CauseAssignment) -> str:
    return f"a:{a.response_id}:{a.question_id}" if a.item_kind == "answer" else f"m:{a.mention_id}"


def _known(session: Session, stable_engine: str | None) -> list[tuple[int, Signature]]:
    """Discovered causes (candidate, dismissed, merged, accepted) with terms, centroid and last items."""
    causes = session.scalars(
        select(Cause).where(Cause.origin == "discovered", Cause.status.in_(KNOWN_STATUSES)).order_by(Cause.id)
    ).all()
    items: dict[int, set[str]] = {}
    if causes:
        for a in session.scalars(
            select(CauseAssignment).where(CauseAssignment.cause_id.in_([c.id for c in causes]))
        ):
            items.setdefault(a.cause_id, set()).add(_item_key(a))
    return [
        (
            c.id,
            Signature(
                terms=dict(c.terms),
                centroid=np.asarray(c.centroid, dtype=np.float32) if c.centroid else None,
                engine=c.centroid_engine,
                stable_space=c.centroid_engine == stable_engine,
                items=frozenset(items.get(c.id, ())),
                size=c.size,
            ),
        )
        for c in causes
    ]


def _signature(cluster: FoundCluster, items: Sequence[str], batch: BatchResult) -> Signature:
    return Signature(
        terms=cluster.terms,
        centroid=cluster.centroid,
        engine=batch.engine,
        stable_space=batch.stable_space,
        items=frozenset(items[i] for i in cluster.rows.tolist()),
        size=cluster.size,
    )


def _run(
    sessions: sessionmaker[Session], run_id: int, options: AnalyzeOptions, engine: Engine, progress: Progress
) -> RunSummary:
    progress("reading feedback")
    with sessions() as session:
        bind = session.get_bind()
        items: Items = read_items(bind if isinstance(bind, SAEngine) else bind.engine, options.since)
        slugs = {id_: slug for slug, id_ in department_ids(session).items()}
        active = active_causes(session)
        specs = [spec_of(c, slugs) for c in active]
        active_ids = [c.id for c in active]
        known = _known(session, engine.name if engine.stable_space else None)
        cutoffs = survey_cutoffs(session, options.cutoffs)  # with each survey's own bands
    texts = items.texts
    negatives = texts.filter(
        cutoffs.dissatisfied_expr() & pl.col("text").str.strip_chars().str.len_chars().gt(0)
    )
    summary = RunSummary(
        run_id, engine.name, items_total=items.feedback.height, items_negative=negatives.height
    )
    stage = f"assigning and discovering causes in {negatives.height:,} negative items"
    progress(stage)

    def within(what: str, done: float, total: int) -> None:
        progress(f"{stage}: {what}", done, total)

    batch = run_batch(negatives["text"].to_list(), specs, engine, options.cause_params(), progress=within)
    summary.resolution = batch.resolution
    item_keys: list[str] = negatives["item"].to_list()
    progress(f"matching {len(batch.clusters)} clusters to {len(known)} known candidates")
    matching = match_clusters(
        known, [_signature(c, item_keys, batch) for c in batch.clusters], options.match_threshold
    )
    context = {name: negatives[name].to_list() for name in ("department", "product", "channel")}
    owners = suggest_owners(batch.clusters, context, specs, batch.space)
    progress("writing results")
    with transaction(sessions) as session:
        _claim_write(session, run_id)
        cluster_cause = _store_clusters(session, run_id, batch, matching, owners)
        summary.changes = {}
        for change in matching.changes:
            summary.changes[change.kind] = summary.changes.get(change.kind, 0) + 1
        rows = _assignment_rows(run_id, negatives, batch, active_ids, cluster_cause)
        session.execute(delete(CauseAssignment))
        for start in range(0, len(rows), 10_000):
            progress(f"writing results: {start:,} of {len(rows):,} assignments", start, len(rows))
            session.execute(insert(CauseAssignment), rows[start : start + 10_000])
        raised = pl.DataFrame(
            {
                "key": [negatives["key"][i] for i in (r["_row"] for r in rows)],
                "cause_id": [r["cause_id"] for r in rows],
            },
            schema={"key": pl.Utf8, "cause_id": pl.Int64},
        )
        ledger = write_ledger(session, run_id, items.feedback, raised, options.period, cutoffs)
        _update_sizes(session, raised, ledger)
        pause_point("analyze.write")  # tests only (feedback.faults): killed here, nothing of this run shows
        run = session.get(AnalysisRun, run_id)
        assert run is not None
        summary.items_assigned = int((batch.assignment.cause >= 0).sum())
        summary.items_clustered = int((batch.cluster_of_row >= 0).sum())
        summary.causes_seen = int(raised["cause_id"].n_unique()) if raised.height else 0
        run.items_total, run.items_negative = summary.items_total, summary.items_negative
        run.items_assigned, run.items_clustered = summary.items_assigned, summary.items_clustered
        run.causes_seen = summary.causes_seen
        run.params = {**run.params, "resolution_used": batch.resolution}
        run.state = RunState.COMPLETE
        run.finished_at = utcnow()
    return summary


def _next_candidate_number(session: Session) -> int:
    keys = session.scalars(select(Cause.key).where(Cause.key.like("candidate-%"))).all()
    numbers = [int(k.split("-", 1)[1]) for k in keys if k.split("-", 1)[1].isdigit()]
    return max(numbers, default=0) + 1


def _target(session: Session, cause: Cause) -> Cause:
    """Where a cause's items go: a merged cause's items go to the cause it was merged into."""
    seen = {cause.id}
    while cause.status == CauseStatus.MERGED and cause.merged_into_id and cause.merged_into_id not in seen:
        nxt = session.get(Cause, cause.merged_into_id)
        if nxt is None:
            break
        seen.add(nxt.id)
        cause = nxt
    return cause


def _store_clusters(
    session: Session, run_id: int, batch: BatchResult, matching: Matching, owners: list[str | None]
) -> dict[int, int]:
    """Update paired causes, create new candidates, record what changed; cluster number -> cause id."""
    ids = department_ids(session)
    now = utcnow()
    number = _next_candidate_number(session)
    cluster_cause: dict[int, int] = {}
    created: dict[int, Cause] = {}
    for cluster in batch.clusters:
        cause_id = matching.pairs.get(cluster.number)
        cause = session.get(Cause, cause_id) if cause_id is not None else None
        if cause is None:
            cause = Cause(
                key=f"candidate-{number}",
                name=cluster.label or f"candidate {number}",
                status=CauseStatus.CANDIDATE,
                origin="discovered",
                keywords=[],
                examples=[],
                first_seen_at=now,
            )
            number += 1
            session.add(cause)
            created[cluster.number] = cause
        cause.label = cluster.label
        cause.terms = cluster.terms
        cause.centroid = [round(float(x), 6) for x in cluster.centroid]
        cause.centroid_engine = batch.engine
        cause.verbatims = cluster.verbatims
        owner = owners[cluster.number]
        cause.suggested_department_id = ids.get(owner) if owner else None
        if cause.status == CauseStatus.CANDIDATE and cause.origin == "discovered" and not cause.department_id:
            cause.name = cluster.label or cause.name
        session.flush()
        cluster_cause[cluster.number] = _target(session, cause).id
    for change in matching.changes:
        if change.cluster is not None and change.cluster in created:
            cause = created[change.cluster]
        elif change.cause is not None:
            found = session.get(Cause, change.cause)
            if found is None:
                continue
            cause = found
        else:
            continue
        related = session.get(Cause, change.related) if change.related is not None else None
        if change.kind == "merged" and related is not None and cause.status == CauseStatus.CANDIDATE:
            cause.status = CauseStatus.MERGED
            cause.merged_into_id = related.id
        record(
            session,
            cause,
            change.kind,
            actor="analysis",
            run_id=run_id,
            related=related,
            detail=change.detail,
        )
    return cluster_cause


def _assignment_rows(
    run_id: int,
    negatives: pl.DataFrame,
    batch: BatchResult,
    active_ids: list[int],
    cluster_cause: dict[int, int],
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    kinds = negatives["kind"].to_list()
    response_ids = negatives["response_id"].to_list()
    question_ids = negatives["question_id"].to_list()
    mention_ids = negatives["mention_id"].to_list()
    departments = negatives["department_id"].to_list()
    occurred = negatives["occurred_at"].to_list()

    def row(i: int, cause_id: int, confidence: float, method: str) -> dict[str, Any]:
        import uuid

        return {
            "_row": i,
            "run_id": run_id,
            "cause_id": cause_id,
            "item_kind": kinds[i],
            "response_id": uuid.UUID(response_ids[i]) if response_ids[i] else None,
            "question_id": question_ids[i],
            "mention_id": mention_ids[i],
            "department_id": departments[i],
            "occurred_at": occurred[i],
            "confidence": round(confidence, 4),
            "method": method,
        }

    causes = batch.assignment.cause.tolist()
    confidence = batch.assignment.confidence.tolist()
    for i, known in enumerate(causes):
        if known >= 0:
            rows.append(row(i, active_ids[known], confidence[i], "taxonomy"))
    for cluster in batch.clusters:
        for i, similarity in zip(cluster.rows.tolist(), cluster.similarity.tolist(), strict=True):
            rows.append(row(i, cluster_cause[cluster.number], similarity, "discovered"))
    rows.sort(key=lambda r: r["_row"])
    return rows


def _update_sizes(session: Session, raised: pl.DataFrame, ledger: pl.DataFrame) -> None:
    counts = dict(raised.group_by("cause_id").agg(pl.len()).iter_rows()) if raised.height else {}
    seen = (
        {
            r[0]: (r[1], r[2])
            for r in ledger.group_by("cause_id")
            .agg(pl.col("first_seen_at").min(), pl.col("last_seen_at").max())
            .iter_rows()
        }
        if ledger.height
        else {}
    )
    for cause in session.scalars(select(Cause)):
        cause.size = int(counts.get(cause.id, 0))
        if cause.id in seen:
            cause.first_seen_at, cause.last_seen_at = seen[cause.id]


def last_complete_run(session: Session) -> AnalysisRun | None:
    return session.scalar(
        select(AnalysisRun)
        .where(AnalysisRun.state == RunState.COMPLETE)
        .order_by(AnalysisRun.id.desc())
        .limit(1)
    )
