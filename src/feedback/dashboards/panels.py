"""Each panel's data, read through the metrics, causes and mentions services, scoped like the caller.

Metric panels go through ``compute_metrics`` (one call per distinct breakdown, period and filters: panels
that share them share the read). Root causes come from the causes service (``list_causes``,
``cause_detail``), mentions from ``list_mentions``, and verbatims (recent comments) from one query of our
own. Every frame here is an aggregate or a short list: row-level responses never leave the server.

A page filter that does not apply to a panel's data (mentions have no channel) is dropped for that panel
and the panel says so.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import polars as pl
from sqlalchemy import ColumnElement, Engine, and_, or_, select, true
from sqlalchemy.orm import Session

from feedback.accounts.access import Caller
from feedback.analysis.metrics import METRICS
from feedback.analysis.outcomes import CauseRisk
from feedback.causes.followup import followup_status
from feedback.causes.query import cause_detail, list_causes
from feedback.config import get_settings
from feedback.dashboards.cache import KEPT_TTL_S, cache_for, causes_fingerprint, outcomes_fingerprint
from feedback.dashboards.filters import PageFilters
from feedback.dashboards.spec import DashboardSpec, PanelSpec
from feedback.mentions.query import MentionFilter, NoiseFilter, list_mentions
from feedback.metrics.service import (
    MetricsQuery,
    band_bounds,
    company_dimensions,
    compute_many,
    source_dimensions,
)
from feedback.models import (
    Answer,
    Cause,
    CauseAssignment,
    CauseStatus,
    Department,
    Question,
    QuestionKind,
    Response,
)
from feedback.models.context import CONTEXT_TEXT_FIELDS, context_column
from feedback.outcomes.panel import outcomes_section
from feedback.outcomes.report import RISK_NOTE, risk_by_cause_key, risk_words
from feedback.privacy import exposure
from feedback.responses.context import CompanyField
from feedback.responses.dissatisfied import dissatisfied_response, survey_cutoffs

T = TypeVar("T")
METRIC_COLUMNS = (
    "period",
    "metric",
    "value",
    "n",
    "low",
    "high",
    "small_sample",
    "previous",
    "change",
    "target",
    "target_gap",
    "target_met",
)


@dataclass
class PanelData:
    """A panel's rows (what the chart draws and the downloads contain) and what the reader should know."""

    spec: PanelSpec
    frame: pl.DataFrame
    notes: list[str] = field(default_factory=list)
    unreviewed: int = 0  # candidate causes left off a chart of reviewed causes


Filters = dict[str, tuple[str, ...]]


def _merge(page: Mapping[str, tuple[str, ...]], panel: Mapping[str, tuple[str, ...]]) -> Filters:
    """Both sets of filters at once: on a dimension named by both, the values in both."""
    merged: Filters = dict(page)
    for name, values in panel.items():
        merged[name] = tuple(v for v in values if v in merged[name]) if name in merged else values
    return merged


def _filters_for(source: str, filters: Filters) -> tuple[Filters, list[str]]:
    """The filters that apply to ``source``'s rows, and a note for each that does not."""
    allowed = source_dimensions(source)
    notes = [f"The {name} filter does not apply to {source}." for name in filters if name not in allowed]
    return {k: v for k, v in filters.items() if k in allowed}, notes


def _metric_panels(
    session: Session,
    panels: Sequence[PanelSpec],
    page: PageFilters,
    scope: int | None,
    min_n: int,
) -> list[PanelData]:
    since, until = page.window
    groups: dict[tuple[Any, ...], set[str]] = {}
    plans: list[tuple[PanelSpec, list[tuple[str, tuple[Any, ...]]], list[str]]] = []
    for panel in panels:
        by = (panel.breakdown,) if panel.breakdown else ()
        merged = _merge(page.dimensions(), panel.filters)
        notes: list[str] = []
        keys = []
        for metric in panel.metrics:
            filters, dropped = _filters_for(METRICS[metric].source, merged)
            notes += [note for note in dropped if note not in notes]
            key = (by, panel.period, tuple(sorted(filters.items())))
            groups.setdefault(key, set()).add(metric)
            keys.append((metric, key))
        plans.append((panel, keys, notes))
    # One read per table for every panel (compute_many); filters that exclude each other read nothing.
    runnable = [key for key in groups if all(values for _, values in key[2])]
    queries = [
        MetricsQuery(
            metrics=tuple(sorted(groups[key])),
            by=key[0],
            period=key[1],
            tz="UTC",
            since=since,
            until=until,
            filters=dict(key[2]),
            min_n=min_n,
        )
        for key in runnable
    ]
    results = compute_many(session, queries, scope) if queries else []
    tables = {key: pl.DataFrame() for key in groups}
    tables.update({key: result.table for key, result in zip(runnable, results, strict=True)})
    out = []
    for panel, keys, notes in plans:
        columns = [*([panel.breakdown] if panel.breakdown else []), *METRIC_COLUMNS]
        parts = [
            tables[key].filter(pl.col("metric") == metric).select(columns)
            for metric, key in keys
            if tables[key].height
        ]
        frame = (
            pl.concat(parts, how="vertical_relaxed") if parts else _empty_metrics(columns, panel.breakdown)
        )
        if panel.period is None:
            frame = frame.drop("period")
        out.append(PanelData(panel, frame, notes))
    return out


def _empty_metrics(columns: Sequence[str], breakdown: str | None) -> pl.DataFrame:
    types: dict[str, Any] = {
        "period": pl.Date,
        "metric": pl.String,
        "value": pl.Float64,
        "n": pl.Int64,
        "low": pl.Float64,
        "high": pl.Float64,
        "small_sample": pl.Boolean,
        "previous": pl.Float64,
        "change": pl.Float64,
        "target": pl.Float64,
        "target_gap": pl.Float64,
        "target_met": pl.Boolean,
    }
    if breakdown:
        types[breakdown] = pl.String
    return pl.DataFrame(schema={c: types[c] for c in columns})


# -- root causes -------------------------------------------------------------------------------------------

CAUSE_SCHEMA: dict[str, Any] = {
    "cause_id": pl.String,
    "cause": pl.String,
    "status": pl.String,
    "owner": pl.String,
    "trend": pl.String,
    "first_seen_at": pl.Datetime("us", "UTC"),
    "last_seen_at": pl.Datetime("us", "UTC"),
    "count": pl.Int64,
    "nps_points_lost": pl.Float64,
    "csat_points_lost": pl.Float64,
    "last_event": pl.String,
    "last_event_at": pl.Datetime("us", "UTC"),
    "followup": pl.String,
    "verbatims": pl.List(pl.String),
    "revenue_at_risk": pl.Float64,  # with its interval and words: outcomes/report.py
    "revenue_low": pl.Float64,
    "revenue_high": pl.Float64,
    "revenue_words": pl.String,  # None without outcome events
}
LEDGER_SCHEMA: dict[str, Any] = {
    "period_start": pl.Date,
    "cause_id": pl.String,
    "cause": pl.String,
    "count": pl.Int64,
    "share": pl.Float64,
}


def _weighted(values: list[tuple[float | None, float]]) -> float | None:
    """The mean of per-period points, each period weighted by how much feedback it had."""
    known = [(v, w) for v, w in values if v is not None and w > 0]
    total = sum(w for _, w in known)
    return sum(v * w for v, w in known) / total if total else None


def _revenue(risks: Mapping[str, CauseRisk], key: str) -> dict[str, Any]:
    risk = risks.get(key)
    return {
        "revenue_at_risk": risk.at_risk if risk else None,
        "revenue_low": risk.low if risk else None,
        "revenue_high": risk.high if risk else None,
        "revenue_words": risk_words(risks, key),
    }


def cause_frames(session: Session, page: PageFilters, scope: int | None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Causes with what they cost in the window (most costly first), and their ledger rows in the window."""
    since, until = page.since, page.until
    rows: list[dict[str, Any]] = []
    ledger_rows: list[dict[str, Any]] = []
    found = list_causes(session, scope)
    ids = dict(session.execute(select(Cause.key, Cause.id).where(Cause.key.in_([c.id for c in found]))).all())
    followups = followup_status(session, ids.values())
    risks = _outcome_figure(session, "risks", lambda: risk_by_cause_key(_engine(session))) if found else {}
    for cause in found:
        owner = cause.department or cause.suggested_department
        if page.department and owner != page.department:
            continue
        detail = cause_detail(session, cause.id, scope, examples=0)
        followup = followups.get(ids[cause.id])
        inside = [r for r in detail.ledger if since <= r.period_start <= until]
        weights = [(r.count / r.share if r.share else 0.0) for r in inside]
        last = detail.history[-1] if detail.history else None
        rows.append(
            {
                "cause_id": cause.id,
                "cause": cause.name,
                "status": cause.status,
                "owner": owner,
                "trend": inside[-1].trend if inside else None,
                "first_seen_at": cause.first_seen_at,
                "last_seen_at": cause.last_seen_at,
                "count": sum(r.count for r in inside),
                "nps_points_lost": _weighted(
                    [(r.nps_points_lost, w) for r, w in zip(inside, weights, strict=True)]
                ),
                "csat_points_lost": _weighted(
                    [(r.csat_points_lost, w) for r, w in zip(inside, weights, strict=True)]
                ),
                "last_event": last.kind if last else None,
                "last_event_at": last.at if last else None,
                "followup": followup.words if followup else None,
                "verbatims": list(cause.verbatims[:3]),
                **_revenue(risks, cause.id),
            }
        )
        ledger_rows.extend(
            {
                "period_start": r.period_start,
                "cause_id": cause.id,
                "cause": cause.name,
                "count": r.count,
                "share": r.share,
            }
            for r in inside
        )
    causes = (
        pl.DataFrame(rows, schema=CAUSE_SCHEMA, orient="row") if rows else pl.DataFrame(schema=CAUSE_SCHEMA)
    )
    causes = causes.filter(pl.col("count") > 0).sort(
        ["nps_points_lost", "count"], descending=True, nulls_last=True
    )
    ledger = (
        pl.DataFrame(ledger_rows, schema=LEDGER_SCHEMA) if ledger_rows else pl.DataFrame(schema=LEDGER_SCHEMA)
    )
    return causes, ledger


def _cause_panel(
    panel: PanelSpec, causes: pl.DataFrame, ledger: pl.DataFrame, page: PageFilters
) -> PanelData:
    notes = []
    if page.channel or page.product or page.fields:
        set_ = [n for n in ("channel", "product") if getattr(page, n)] + [n for n, _ in page.fields]
        others = ", ".join(set_)
        notes.append(f"Root causes follow the dates and the department only (not {others}).")
    if causes.height and causes["revenue_words"].is_not_null().any():
        notes.append(RISK_NOTE)
    top = causes.head(panel.limit)
    if panel.kind == "cause_trend":
        wanted = top.get_column("cause_id").to_list()
        frame = ledger.filter(pl.col("cause_id").is_in(wanted)).sort(["period_start", "cause"])
        return PanelData(panel, frame, notes)
    if panel.chart == "bar":
        # A chart of what costs the most shows reviewed causes; candidates wait for an admin's review.
        reviewed = causes.filter(pl.col("status") != CauseStatus.CANDIDATE)
        unreviewed = causes.height - reviewed.height
        top = reviewed.head(panel.limit).filter(pl.col("nps_points_lost").is_not_null())
        return PanelData(panel, top, notes, unreviewed=unreviewed)
    return PanelData(panel, top, notes)


# -- verbatims and mentions ----------------------------------------------------------------------------------

VERBATIM_SCHEMA: dict[str, Any] = {
    "submitted_at": pl.Datetime("us", "UTC"),
    "department": pl.String,
    "channel": pl.String,
    "product": pl.String,
    "nps": pl.Int64,
    "csat": pl.Int64,
    "ces": pl.Int64,
    "polarity": pl.Float64,
    "text": pl.String,
    "cause_id": pl.String,
    "cause": pl.String,
}
MENTION_SCHEMA: dict[str, Any] = {
    "posted_at": pl.Datetime("us", "UTC"),
    "source": pl.String,
    "author": pl.String,
    "department": pl.String,
    "product": pl.String,
    "polarity": pl.Float64,
    "text": pl.String,
    "url": pl.String,
}


def _department_id(session: Session, slug: str | None) -> int | None:
    if slug is None:
        return None
    return session.scalar(select(Department.id).where(Department.slug == slug)) or -1


def _company_clause(spec: CompanyField, values: Sequence[str]) -> ColumnElement[bool]:
    """Responses whose company field is one of ``values`` (a number: in one of these bands)."""
    value = Response.context_fields[spec.name]
    if spec.kind == "categorical":
        return cast(ColumnElement[bool], value.as_string().in_(values))
    number = value.as_float()
    bands = []
    for low, high in band_bounds(spec, values):
        tests = [number > low] if low is not None else []
        tests += [number <= high] if high is not None else []
        bands.append(and_(true(), *tests))
    return or_(*bands)


def verbatims_frame(session: Session, panel: PanelSpec, page: PageFilters, scope: int | None) -> pl.DataFrame:
    """The newest comments in the window (with their scores), filtered and scoped like the page."""
    since, until = page.window
    filters = _merge(page.dimensions(), panel.filters)
    assigned = (
        select(Cause.id)
        .join(CauseAssignment, CauseAssignment.cause_id == Cause.id)
        .where(
            CauseAssignment.response_id == Answer.response_id,
            CauseAssignment.question_id == Answer.question_id,
            Cause.status.in_((CauseStatus.ACTIVE, CauseStatus.CANDIDATE)),
        )
        .order_by(CauseAssignment.confidence.desc())
        .limit(1)
        .correlate(Answer)
        .scalar_subquery()
    )
    query = (
        select(
            Response.submitted_at,
            Department.slug,
            context_column(Response, "channel"),
            context_column(Response, "product"),
            Response.nps,
            Response.csat,
            Response.ces,
            Answer.polarity,
            Answer.text,
            Cause.key,
            Cause.name,
        )
        .join(Answer, Answer.response_id == Response.id)
        .join(Question, Question.id == Answer.question_id)
        .outerjoin(Department, Department.id == Response.department_id)
        .outerjoin(Cause, Cause.id == assigned)
        .where(Question.kind == QuestionKind.TEXT, Answer.text.is_not(None), Answer.text != "")
        .where(Response.submitted_at >= since, Response.submitted_at < until)
        .order_by(Response.submitted_at.desc(), Response.id)
        .limit(panel.limit)
    )
    if scope is not None:
        query = query.where(Response.department_id == scope)
    if page.cause:
        query = query.where(Cause.key == page.cause)
    for name, values in filters.items():
        if name == "department":
            ids = [_department_id(session, v) for v in values]
            query = query.where(Response.department_id.in_(ids))
        elif name in CONTEXT_TEXT_FIELDS:
            query = query.where(context_column(Response, name).in_(values))
        elif name in (company := company_dimensions()):
            query = query.where(_company_clause(company[name], values))
    if panel.negative_only:
        query = query.where(dissatisfied_response(survey_cutoffs(session)))
    rows = [tuple(r) for r in session.execute(query)]
    return pl.DataFrame(rows, schema=VERBATIM_SCHEMA, orient="row")


def mentions_frame(
    session: Session, panel: PanelSpec, page: PageFilters, scope: int | None
) -> tuple[pl.DataFrame, list[str]]:
    since, until = page.window
    filters, notes = _filters_for("mentions", _merge(page.dimensions(), panel.filters))
    products, sources = filters.get("product", ()), filters.get("source", ())
    department_id = scope if scope is not None else _department_id(session, page.department)
    several = len(products) > 1 or len(sources) > 1
    selection = MentionFilter(
        since=since,
        until=until,
        product=products[0] if len(products) == 1 else None,
        source=sources[0] if len(sources) == 1 else None,
        noise=NoiseFilter.EXCLUDE,
        limit=1000 if several else panel.limit,
    )
    found = list_mentions(session, selection, department_id=department_id)
    if several:
        wanted = [m for m in found if (not products or m.product in products)]
        found = [m for m in wanted if (not sources or m.source in sources)][: panel.limit]
    rows = [
        (m.posted_at, m.source, m.author, m.department, m.product, m.polarity, m.text, m.url) for m in found
    ]
    return pl.DataFrame(rows, schema=MENTION_SCHEMA, orient="row"), notes


# -- a whole dashboard ---------------------------------------------------------------------------------------


def _engine(session: Session) -> Engine:
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


def _kept(session: Session, key: Hashable, fingerprint: tuple[Any, ...], compute: Callable[[], T]) -> T:
    """A result that new answers do not change (outcome figures, root causes), kept until its own inputs
    change (``fingerprint``) rather than recomputed with the rest of the page after each new answer."""
    engine = _engine(session)
    cache = cache_for(engine.url.render_as_string(), get_settings().dashboard_cache_s)
    return cache.get_or_compute(key, fingerprint, compute, KEPT_TTL_S)


def _outcome_figure(session: Session, name: str, compute: Callable[[], T]) -> T:
    """An outcome figure: the same whatever the page's filters and viewer (they do not narrow it)."""
    return _kept(session, ("outcomes", name), outcomes_fingerprint(session), compute)


def dashboard_data(
    session: Session, spec: DashboardSpec, page: PageFilters, scope: int | None, min_n: int
) -> list[PanelData]:
    """Every panel's data, in the dashboard's order."""
    by_id: dict[str, PanelData] = {}
    metric_panels = [p for p in spec.panels if p.kind == "metric"]
    for data in _metric_panels(session, metric_panels, page, scope, min_n):
        by_id[data.spec.id] = data
    if any(p.kind in ("causes", "cause_trend") for p in spec.panels):
        causes, ledger = _kept(
            session,
            ("causes", page, scope),
            causes_fingerprint(session),
            lambda: cause_frames(session, page, scope),
        )
        for panel in spec.panels:
            if panel.kind in ("causes", "cause_trend"):
                by_id[panel.id] = _cause_panel(panel, causes, ledger, page)
    for panel in spec.panels:
        if panel.kind == "verbatims":
            _, notes = _filters_for("responses", _merge(page.dimensions(), panel.filters))
            by_id[panel.id] = PanelData(panel, verbatims_frame(session, panel, page, scope), notes)
        elif panel.kind == "mentions":
            frame, notes = mentions_frame(session, panel, page, scope)
            by_id[panel.id] = PanelData(panel, frame, notes)
        elif panel.kind == "outcomes":  # the chart and the table show the same figures: computed once
            section = _outcome_figure(session, "satisfaction-pays", lambda: outcomes_section(session))
            by_id[panel.id] = PanelData(panel, *section)
    return [by_id[p.id] for p in spec.panels]


def read_dashboard(
    session: Session, caller: Caller, spec: DashboardSpec, page: PageFilters, min_n: int
) -> list[PanelData]:
    """Every panel's data as ``caller`` may see it: scoped to their department, redacted for them."""
    return exposure.panels(caller, dashboard_data(session, spec, page, caller.scope(), min_n))
