"""Satisfaction metrics and drivers from the database: read (scoped), compute with Polars, compare.

The caller's scope (a department head sees only their department) and every filter go into the SQL, so
only the rows needed are read. Metric arithmetic lives in feedback.analysis.metrics and .drivers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from feedback.accounts.access import Caller
from feedback.analysis.drivers import DRIVERS, OUTCOMES, DriverResult, analyze_driver
from feedback.analysis.metrics import (
    COUNTABLE,
    METRICS,
    TARGET_DIMENSIONS,
    Period,
    Source,
    empty_result,
    summarize,
    to_counts,
    with_previous,
    with_targets,
)
from feedback.analysis.scales import Cutoffs
from feedback.config import get_settings
from feedback.db.frames import Column, ColumnKind, Select, read_frame
from feedback.errors import Forbidden, InvalidInput
from feedback.metrics import rollups
from feedback.models import Department, Survey
from feedback.models.context import CONTEXT_TEXT_FIELDS
from feedback.responses.context import COMPANY_TEXT_CHARS, CompanyField, company_fields
from feedback.responses.dissatisfied import survey_cutoffs
from feedback.targets.service import targets_frame

# Responses and invitations split by the interaction's context (models/context.py), mentions by their own.
SOURCE_DIMENSIONS = {
    "responses": ("department", *CONTEXT_TEXT_FIELDS, "survey"),
    "invitations": ("department", *CONTEXT_TEXT_FIELDS, "survey"),
    "mentions": ("department", "product", "source"),
}
DIMENSIONS = tuple(dict.fromkeys(d for dims in SOURCE_DIMENSIONS.values() for d in dims))
# The company's own fields (responses/context.py) split and filter responses and invitations too: read from
# the rows' JSON column (rollups do not hold them), categories by value, numbers by bands.
QUARTILES = (0.25, 0.5, 0.75)  # a numeric field without declared bands is split at its quartiles
_ID_DIMENSIONS = {"department": "department_id", "survey": "survey_id"}
_OWN_BANDS = "survey_id"  # read with responses when some survey has its own bands (analysis/scales.py)
DEFAULT_METRICS = ("nps", "csat", "ces", "ces_easy", "fcr", "response_rate", "volume", "sentiment")
DEFAULT_WINDOW = timedelta(days=90)


@dataclass(frozen=True)
class MetricsQuery:
    metrics: tuple[str, ...] = DEFAULT_METRICS
    by: tuple[str, ...] = ()
    period: Period | None = None
    tz: str = "UTC"
    since: datetime | None = None  # default: 90 days before until
    until: datetime | None = None  # default: now
    filters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # dimension -> any of these values
    min_n: int = 30


@dataclass(frozen=True)
class MetricsResult:
    query: MetricsQuery
    since: datetime
    until: datetime
    table: pl.DataFrame  # period, *by, metric, value, n, low, high, small_sample, previous, change, target...


# -- parsing what people type ------------------------------------------------------------------------------


def _split(text: str | Sequence[str] | None) -> list[str]:
    if text is None:
        return []
    items = [text] if isinstance(text, str) else list(text)
    return [part.strip() for item in items for part in item.split(",") if part.strip()]


def parse_metrics(text: str | Sequence[str] | None) -> tuple[str, ...]:
    names = _split(text)
    if not names or names == ["all"]:
        return DEFAULT_METRICS
    unknown = [n for n in names if n not in METRICS]
    if unknown:
        raise InvalidInput.on("metric", f"unknown metric {unknown[0]!r} (known: {', '.join(METRICS)})")
    return tuple(dict.fromkeys(names))


def company_dimensions() -> dict[str, CompanyField]:
    """The declared company fields, by name: dimensions of responses and invitations."""
    return {f.name: f for f in company_fields()}


def source_dimensions(source: str) -> tuple[str, ...]:
    """What metrics of ``source`` split and filter by: its context dimensions and the company's fields."""
    own = SOURCE_DIMENSIONS[source]
    return own if source == "mentions" else (*own, *company_dimensions())


def all_dimensions() -> tuple[str, ...]:
    return (*DIMENSIONS, *company_dimensions())


def parse_by(text: str | Sequence[str] | None) -> tuple[str, ...]:
    names = _split(text)
    known = all_dimensions()
    unknown = [n for n in names if n not in known]
    if unknown:
        raise InvalidInput.on("by", f"unknown dimension {unknown[0]!r} (known: {', '.join(known)})")
    return tuple(dict.fromkeys(names))


def parse_period(text: str | None) -> Period | None:
    if not text or text == "none":
        return None
    try:
        return Period(text)
    except ValueError:
        raise InvalidInput.on("period", "expected day, week, month or none") from None


def parse_tz(text: str | None) -> str:
    name = text or "UTC"
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a file
        raise InvalidInput.on("tz", f"unknown time zone {name!r} (e.g. UTC, Europe/Berlin)") from None
    return name


def parse_filters(values: Mapping[str, str | Sequence[str] | None]) -> dict[str, tuple[str, ...]]:
    """The dimension filters among ``values`` (a query string): built-in dimensions and company fields. A
    company category is any text up to its length; a number is filtered by its declared bands' names."""
    known, company = all_dimensions(), company_dimensions()
    filters = {name: tuple(_split(v)) for name, v in values.items() if name in known and _split(v)}
    for name, wanted in filters.items():
        if name not in company:
            continue
        spec = company[name]
        if spec.kind == "categorical":
            if any(len(v) > COMPANY_TEXT_CHARS for v in wanted):
                raise InvalidInput.on(name, f"longer than {COMPANY_TEXT_CHARS} characters")
        elif not spec.bands:
            raise InvalidInput.on(
                name, f"declare bands for {name} in the context fields file to filter by it"
            )
        elif unknown := [v for v in wanted if v not in spec.band_names]:
            raise InvalidInput.on(name, f"unknown band {unknown[0]!r} (bands: {', '.join(spec.band_names)})")
    return filters


def aware(moment: datetime | None, tz: str = "UTC") -> datetime | None:
    """Times without a zone are read in ``tz``."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=ZoneInfo(tz))


# -- periods -------------------------------------------------------------------------------------------------


def period_start(moment: datetime, period: Period, tz: str) -> datetime:
    """Start (aware, in ``tz``) of the day, week (Monday) or month that ``moment`` falls in."""
    local = moment.astimezone(ZoneInfo(tz))
    day = local.replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
    if period == Period.WEEK:
        day -= timedelta(days=day.weekday())
    elif period == Period.MONTH:
        day = day.replace(day=1)
    return day.replace(tzinfo=ZoneInfo(tz))


def next_period_start(start: datetime, period: Period, tz: str) -> datetime:
    naive = start.replace(tzinfo=None)
    if period == Period.DAY:
        naive += timedelta(days=1)
    elif period == Period.WEEK:
        naive += timedelta(days=7)
    else:
        naive = (naive.replace(day=28) + timedelta(days=4)).replace(day=1)
    return naive.replace(tzinfo=ZoneInfo(tz))


def period_starts(since: datetime, until: datetime, period: Period | None, tz: str) -> list[datetime]:
    """Where the periods of ``tz`` start between ``since`` and ``until`` (where a count must not straddle)."""
    if period is None:
        return []
    starts, start = [], period_start(since, period, tz)
    while start < until:
        starts.append(start)
        start = next_period_start(start, period, tz)
    return starts


def previous_period_start(start: datetime, period: Period, tz: str) -> datetime:
    naive = start.replace(tzinfo=None)
    if period == Period.DAY:
        naive -= timedelta(days=1)
    elif period == Period.WEEK:
        naive -= timedelta(days=7)
    else:
        naive = (naive.replace(day=1) - timedelta(days=1)).replace(day=1)
    return naive.replace(tzinfo=ZoneInfo(tz))


# -- reading -------------------------------------------------------------------------------------------------


def _engine(session: Session) -> Engine:
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


def _slug_maps(session: Session) -> dict[str, dict[str, int]]:
    return {
        "department": {slug: id_ for id_, slug in session.execute(select(Department.id, Department.slug))},
        "survey": {slug: id_ for id_, slug in session.execute(select(Survey.id, Survey.slug))},
    }


def _company_sql(field: CompanyField, dialect: str) -> str:
    """A company field's value from the rows' JSON column (its name is checked: a-z, 0-9, _)."""
    if dialect == "sqlite":
        return f"json_extract(context_fields, '$.{field.name}')"
    text = f"(context_fields ->> '{field.name}')"
    return f"{text}::float8" if field.kind == "numeric" else text


def _context_columns(dimensions: Sequence[str], dialect: str) -> list[Column]:
    columns = []
    company = company_dimensions()
    for name in dimensions:
        if name == _OWN_BANDS:
            columns.append(Column(name, name, "int"))
        elif name in _ID_DIMENSIONS:
            columns.append(Column(name, _ID_DIMENSIONS[name], "int"))
        elif name in company:
            spec = company[name]
            columns.append(
                Column(name, _company_sql(spec, dialect), "float" if spec.kind == "numeric" else "text")
            )
        else:
            columns.append(Column(name, name, "text"))
    return columns


def _banded(frame: pl.DataFrame) -> pl.DataFrame:
    """Numeric company fields as the names of their bands: the declared ones, else the rows' quartiles."""
    from feedback.analysis.outcomes import band_labels

    exprs = []
    for name, spec in company_dimensions().items():
        if name not in frame.columns or spec.kind != "numeric":
            continue
        edges = list(spec.bands)
        if not edges:
            values = frame[name].drop_nulls()
            edges = (
                sorted({float(values.quantile(q, "linear") or 0) for q in QUARTILES})
                if len(values)
                else [0.0]
            )
        labels, value = band_labels(edges), pl.col(name)
        band: pl.Expr = pl.lit(labels[-1])
        for edge, label in reversed(list(zip(edges, labels, strict=False))):  # upper bounds included
            band = pl.when(value <= edge).then(pl.lit(label)).otherwise(band)
        exprs.append(pl.when(value.is_null()).then(pl.lit(None, pl.String)).otherwise(band).alias(name))
    return frame.with_columns(exprs) if exprs else frame


def band_bounds(spec: CompanyField, names: Sequence[str]) -> list[tuple[float | None, float | None]]:
    """(above, at most) of each of the bands ``names`` of a numeric company field; None: unbounded."""
    edges = [None, *spec.bands, None]
    return [(edges[i], edges[i + 1]) for i in map(spec.band_names.index, names)]


def _band_condition(sql: str, spec: CompanyField, names: Sequence[str]) -> tuple[str, list[float]]:
    """SQL true for values in any of the bands ``names`` (upper bounds included)."""
    parts: list[str] = []
    params: list[float] = []
    for low, high in band_bounds(spec, names):
        tests = [(f"{sql} > ?", low), (f"{sql} <= ?", high)]
        parts.append(" AND ".join(test for test, bound in tests if bound is not None))
        params.extend(bound for _, bound in tests if bound is not None)
    return " OR ".join(f"({part})" for part in parts), params


def _ids(name: str, values: Sequence[str], slugs: Mapping[str, Mapping[str, int]]) -> list[int]:
    """The ids of these department or survey slugs; InvalidInput naming the first unknown one."""
    unknown = [v for v in values if v not in slugs[name]]
    if unknown:
        known = ", ".join(sorted(slugs[name])) or "none yet"
        raise InvalidInput.on(name, f"unknown {name} {unknown[0]!r} (known: {known})")
    return [slugs[name][v] for v in values]


def _filtered(
    query: Select,
    filters: Mapping[str, tuple[str, ...]],
    slugs: Mapping[str, Mapping[str, int]],
    scope: int | None,
    dialect: str,
) -> Select:
    company = company_dimensions()
    for name, values in filters.items():
        if name in _ID_DIMENSIONS:
            query.where_in(_ID_DIMENSIONS[name], _ids(name, values, slugs))
        elif name in company and company[name].kind == "numeric":
            condition, params = _band_condition(_company_sql(company[name], dialect), company[name], values)
            query.where(condition, *params)
        elif name in company:
            query.where_in(_company_sql(company[name], dialect), list(values))
        else:
            query.where_in(name, list(values))
    if scope is not None:
        query.where("department_id = ?", scope)
    return query


_TIME_COLUMN = {"responses": "submitted_at", "invitations": "created_at", "mentions": "posted_at"}


def read_source(
    engine: Engine,
    source: str,
    metrics: Sequence[str],
    by: Sequence[str],
    filters: Mapping[str, tuple[str, ...]],
    slugs: Mapping[str, Mapping[str, int]],
    scope: int | None,
    since: datetime,
    until: datetime,
    boundaries: Sequence[datetime] = (),
) -> pl.DataFrame:
    """What ``metrics`` need of one table from ``since`` to ``until``: daily counts from the rollups where
    they serve (whole UTC days; models/rollup.py says which splits), with the rows themselves counted for
    the hours at the ends; else the rows. No counted day straddles one of ``boundaries`` (where a caller
    splits the window: its periods' starts, in whatever time zone). When whole UTC days would cover less
    than half the window (days of a time zone other than UTC: every one straddles a UTC midnight), the
    rows are read."""
    grain = rollups.grain_for(source, [d for d in (*by, *filters) if d != _OWN_BANDS])
    cutoffs = get_settings().cutoffs
    countable = set(COUNTABLE)
    own_bands = _OWN_BANDS in by  # some survey has its own bands: dissatisfied is judged from rows
    if "dissatisfied" in metrics and not own_bands and rollups.counts_dissatisfied(engine, cutoffs):
        countable.add("dissatisfied")
    if grain is None or not countable.issuperset(metrics):
        return read_rows(engine, source, metrics, by, filters, slugs, scope, since, until)
    inside = [b for b in boundaries if since < b < until]
    plan = rollups.plan([since, until, *inside])
    whole_days = sum((last - first).days for first, last in plan.days)
    if timedelta(days=whole_days) * 2 < until - since:
        return read_rows(engine, source, metrics, by, filters, slugs, scope, since, until)
    ids = {name: _ids(name, v, slugs) if name in _ID_DIMENSIONS else v for name, v in filters.items()}
    parts = [rollups.read_counts(engine, source, grain, by, ids, scope, plan.days)]
    if plan.rows:  # the hours at the ends, all in one read (a sliver each: two per week of Berlin)
        rows = read_rows(engine, source, metrics, by, filters, slugs, scope, None, None, windows=plan.rows)
        starts = pl.Series([start for start, _ in plan.rows], dtype=rows["at"].dtype)
        rows = rows.with_columns(window=starts.search_sorted(rows["at"], side="right") - 1)
        for (window,), part in rows.partition_by("window", as_dict=True).items():
            counted = to_counts(
                part.drop("window"), by, cast(Source, source), plan.rows[cast(int, window)][0], cutoffs
            )
            parts.append(counted)
    frame = pl.concat(parts, how="diagonal_relaxed")
    return frame.filter(pl.col("rows") > 0)


def read_rows(
    engine: Engine,
    source: str,
    metrics: Sequence[str],
    by: Sequence[str],
    filters: Mapping[str, tuple[str, ...]],
    slugs: Mapping[str, Mapping[str, int]],
    scope: int | None,
    since: datetime | None,
    until: datetime | None,
    windows: Sequence[tuple[datetime, datetime]] = (),
) -> pl.DataFrame:
    """The rows of one table that ``metrics`` need, with only the columns they need; from ``since`` to
    ``until``, and within one of ``windows`` ([start, end) ranges, sorted, apart) when given."""
    time_column = _TIME_COLUMN[source]
    dialect = engine.dialect.name
    columns = [Column("at", time_column, "time"), *_context_columns(by, dialect)]
    needed = {column for m in metrics for column in METRICS[m].reads}
    if source == "responses":
        for name in ("nps", "csat", "ces"):
            if name in needed:
                columns.append(Column(name, name, "int"))
        if "first_contact_resolved" in needed:
            columns.append(Column("first_contact_resolved", "first_contact_resolved", "bool"))
        if "polarity" in needed:
            columns.append(Column("id", "id", "key"))
    elif source == "invitations":
        columns.append(Column("responded", "responded_at IS NOT NULL", "bool"))
    else:
        columns.append(Column("polarity", "polarity", "float"))
    query = Select(source, columns)
    if source == "mentions":
        query.where("noise IS NULL")
    if since is not None:
        query.where_time(time_column, ">=", since)
    if until is not None:
        query.where_time(time_column, "<", until)
    if windows:
        query.where_windows(time_column, windows)
    _filtered(query, filters, slugs, scope, dialect)
    frame = _banded(read_frame(engine, query))
    if source == "responses" and "polarity" in needed:
        frame = _with_comment_polarity(engine, frame, query)
    return frame


def _with_comment_polarity(engine: Engine, responses: pl.DataFrame, response_query: Select) -> pl.DataFrame:
    """Each response's mean comment polarity, joined in Polars (a SQL join is 5-30x slower on SQLite).

    Limiting the answers to the responses read (``IN (SELECT id ...)``) costs, per response, about 17 times as
    much as reading an answer on SQLite (about as much on PostgreSQL), so it is done only when the responses
    read are few compared with all answers; otherwise every answer's polarity is read and the join keeps the
    matching ones.
    """
    answers = Select(
        "answers",
        [Column("id", "response_id", "key"), Column("polarity", "avg(polarity)", "float")],
        suffix=" GROUP BY response_id",
    )
    answers.where("polarity IS NOT NULL")
    factor = 17 if engine.dialect.name == "sqlite" else 1
    if response_query.conditions and responses.height * factor < _answers_estimate(engine):
        where = " AND ".join(f"({c})" for c in response_query.conditions)
        ids = f"SELECT id FROM responses WHERE {where}"  # noqa: S608 - our conditions, values are parameters
        answers.where(f"response_id IN ({ids})", *response_query.params)
    polarity = read_frame(engine, answers) if responses.height else responses.clear()
    if polarity.height == 0:  # nothing to join (and an empty frame does not know the key's type)
        return responses.drop("id").with_columns(pl.lit(None, pl.Float64).alias("polarity"))
    return responses.join(polarity, on="id", how="left").drop("id")


def _answers_estimate(engine: Engine) -> int:
    """About how many answers there are, without counting them (SQLite: the largest rowid, at least the count;
    PostgreSQL: the planner's estimate)."""
    sql = (
        "SELECT max(rowid) FROM answers"
        if engine.dialect.name == "sqlite"
        else "SELECT reltuples::bigint FROM pg_class WHERE relname = 'answers'"
    )
    with engine.connect() as connection:
        return max(0, int(connection.exec_driver_sql(sql).scalar() or 0))


# -- metrics ---------------------------------------------------------------------------------------------


def _check(query: MetricsQuery) -> None:
    for metric in query.metrics:
        source = METRICS[metric].source
        allowed = source_dimensions(source)
        for name in (*query.by, *query.filters):
            if name not in allowed:
                raise InvalidInput.on(
                    "by" if name in query.by else name,
                    f"{metric} cannot be split by {name} ({source} have: {', '.join(allowed)})",
                )
    if query.min_n < 1:
        raise InvalidInput.on("min_n", "expected 1 or more")


def _scope_filters(session: Session, query: MetricsQuery, scope: int | None) -> None:
    if scope is None:
        return
    own = session.get(Department, scope)
    wanted = query.filters.get("department", ())
    if own is not None and any(v != own.slug for v in wanted):
        raise Forbidden("a department head reads only their own department's metrics")


@dataclass(frozen=True)
class _Window:
    since: datetime  # the first period's start
    until: datetime
    read_from: datetime  # since, less one period: for the comparison with the period before


def _window(session: Session, query: MetricsQuery, scope: int | None) -> _Window:
    _check(query)
    _scope_filters(session, query, scope)
    until = aware(query.until, query.tz) or datetime.now(UTC)
    since = aware(query.since, query.tz) or until - DEFAULT_WINDOW
    if since >= until:
        raise InvalidInput.on("since", "since must be before until")
    if query.period is not None:
        since = period_start(since, query.period, query.tz)
        return _Window(since, until, previous_period_start(since, query.period, query.tz))
    return _Window(since, until, since - (until - since))


def _sources(query: MetricsQuery) -> dict[str, list[str]]:
    """The query's metrics by the table they read."""
    out: dict[str, list[str]] = {}
    for metric in query.metrics:
        out.setdefault(METRICS[metric].source, []).append(metric)
    return out


def _read_by(by: Sequence[str], source: str, cutoffs: Cutoffs) -> list[str]:
    """``by`` and, for responses when some survey has its own bands, each row's survey (for its bands)."""
    own = [_OWN_BANDS] if cutoffs.surveys and source == "responses" and _OWN_BANDS not in by else []
    return [*by, *own]


def compute_metrics(session: Session, query: MetricsQuery, scope: int | None = None) -> MetricsResult:
    """The query's metrics, each row with n, interval, small-sample flag, previous period and target."""
    window = _window(session, query, scope)
    engine, slugs, cutoffs = _engine(session), _slug_maps(session), survey_cutoffs(session)

    def read(source: str, metrics: list[str]) -> pl.DataFrame:
        by, filters = _read_by(query.by, source, cutoffs), query.filters
        return read_source(
            engine,
            source,
            metrics,
            by,
            filters,
            slugs,
            scope,
            window.read_from,
            window.until,
            [window.since, *period_starts(window.read_from, window.until, query.period, query.tz)],
        )

    return _assemble(session, query, window, slugs, scope, read, cutoffs)


def compute_many(
    session: Session, queries: Sequence[MetricsQuery], scope: int | None = None
) -> list[MetricsResult]:
    """Several queries over one database read per table (a dashboard's panels): the union of their
    columns and windows is read once, with the filters they all share; each query then takes its rows in
    Polars. Same results as ``compute_metrics`` on each."""
    windows = [_window(session, q, scope) for q in queries]
    engine, slugs, cutoffs = _engine(session), _slug_maps(session), survey_cutoffs(session)
    frames: dict[tuple[str, int], pl.DataFrame] = {}
    for source in ("responses", "invitations", "mentions"):
        users = [
            (i, q, w) for i, (q, w) in enumerate(zip(queries, windows, strict=True)) if source in _sources(q)
        ]
        for group in _rollup_groups(source, users):
            frame = _read_group(engine, source, group, slugs, scope, cutoffs)
            frames.update({(source, i): frame for i, _, _ in group})
    results = []
    for index, (query, window) in enumerate(zip(queries, windows, strict=True)):

        def narrow(
            source: str, metrics: list[str], query: MetricsQuery = query, w: _Window = window, i: int = index
        ) -> pl.DataFrame:
            frame = frames[(source, i)]
            keep = (pl.col("at") >= w.read_from.astimezone(UTC)) & (pl.col("at") < w.until.astimezone(UTC))
            for name, values in query.filters.items():
                if name not in frame.columns:
                    continue  # a filter every query of the group shares: applied in SQL
                wanted = _ids(name, values, slugs) if name in _ID_DIMENSIONS else list(values)
                keep &= pl.col(name).is_in(wanted)
            return frame.filter(keep)

        results.append(_assemble(session, query, window, slugs, scope, narrow, cutoffs))
    return results


_User = tuple[int, MetricsQuery, "_Window"]


def _columns(query: MetricsQuery) -> set[str]:
    return {*query.by, *query.filters}


def _rollup_groups(source: str, users: Sequence[_User]) -> list[list[_User]]:
    """The queries in groups that one read serves. Queries that split and filter by the same dimensions
    share a read of the rollups, summed by those dimensions in the database: a read for the union of every
    panel's splits would return nearly every rollup row (or, with two facets such as contractor and product,
    send every panel to the rows). Queries no rollup grain serves share one read of rows."""
    groups: dict[frozenset[str], list[_User]] = {}
    rows: list[_User] = []
    for user in users:
        columns = _columns(user[1])
        if rollups.grain_for(source, sorted(columns)) is None:
            rows.append(user)
        else:
            groups.setdefault(frozenset(columns), []).append(user)
    return [*groups.values(), rows] if rows else list(groups.values())


def _read_group(
    engine: Engine,
    source: str,
    users: Sequence[_User],
    slugs: Mapping[str, Mapping[str, int]],
    scope: int | None,
    cutoffs: Cutoffs,
) -> pl.DataFrame:
    """One read of ``source`` for a group of queries: the union of their columns and windows, with the
    filters they all share."""
    shared = dict(set.intersection(*(set(q.filters.items()) for _, q, _ in users)))
    columns = {name for _, q, _ in users for name in q.by}
    columns |= {name for _, q, _ in users for name in q.filters if name not in shared}
    metrics = sorted({m for _, q, _ in users for m in _sources(q)[source]})
    read_from = min(w.read_from for _, _, w in users)
    until = max(w.until for _, _, w in users)
    edges = sorted(
        {t for _, _, w in users for t in (w.read_from, w.since, w.until)}
        | {t for _, q, w in users for t in period_starts(w.read_from, w.until, q.period, q.tz)}
    )
    by = _read_by(sorted(columns), source, cutoffs)
    return read_source(engine, source, metrics, by, shared, slugs, scope, read_from, until, edges)


def _assemble(
    session: Session,
    query: MetricsQuery,
    window: _Window,
    slugs: Mapping[str, Mapping[str, int]],
    scope: int | None,
    read: Callable[[str, list[str]], pl.DataFrame],
    cutoffs: Cutoffs,
) -> MetricsResult:
    since, until = window.since, window.until
    by = list(query.by)
    parts = []
    for source, metrics in _sources(query).items():
        frame = read(source, metrics)
        if query.period is not None:
            table = summarize(frame, metrics, by, query.period, query.tz, query.min_n, cutoffs)
            table = with_previous(table, table, by, query.period)
            first = since.astimezone(ZoneInfo(query.tz)).date()
            table = table.filter(pl.col("period") >= first)
        else:
            boundary = since.astimezone(UTC)
            current = summarize(
                frame.filter(pl.col("at") >= boundary), metrics, by, None, query.tz, query.min_n, cutoffs
            )
            before = summarize(
                frame.filter(pl.col("at") < boundary), metrics, by, None, query.tz, query.min_n, cutoffs
            )
            table = with_previous(current, before, by, None)
        parts.append(table)
    table = pl.concat(parts, how="vertical_relaxed") if parts else empty_result(by)
    table = _named(table, by, slugs)
    fixed = {
        name: values[0]
        for name, values in query.filters.items()
        if name in TARGET_DIMENSIONS and len(values) == 1
    }
    if scope is not None:
        fixed.setdefault("department", next((s for s, i in slugs["department"].items() if i == scope), ""))
    table = with_targets(table, targets_frame(session), by, fixed)
    table = table.sort(["period", *by, "metric"], nulls_last=True)
    return MetricsResult(query, since, until, table)


def _named(table: pl.DataFrame, by: Sequence[str], slugs: Mapping[str, Mapping[str, int]]) -> pl.DataFrame:
    """Department and survey ids as their slugs."""
    exprs = []
    for name in by:
        if name in _ID_DIMENSIONS:
            names = {i: s for s, i in slugs[name].items()}
            exprs.append(
                pl.col(name).cast(pl.Int64).replace_strict(names, default=None, return_dtype=pl.String)
            )
        elif name in table.columns:
            exprs.append(pl.col(name).cast(pl.String))
    if "change" not in table.columns:
        table = table.with_columns(
            pl.lit(None, pl.Float64).alias("previous"), pl.lit(None, pl.Float64).alias("change")
        )
    return table.with_columns(exprs) if exprs else table


# -- drivers ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DriversQuery:
    metric: str = "nps"
    driver: str = "handle_time"
    bands: tuple[float, ...] = ()  # minutes; default per driver
    since: datetime | None = None
    until: datetime | None = None
    tz: str = "UTC"
    filters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    min_n: int = 30


def read_metrics(session: Session, caller: Caller, query: MetricsQuery) -> MetricsResult:
    """``compute_metrics`` over what ``caller`` may see (their department, for a head)."""
    return compute_metrics(session, query, caller.scope())


def read_drivers(session: Session, caller: Caller, query: DriversQuery) -> DriverResult:
    """``compute_drivers`` over what ``caller`` may see (their department, for a head)."""
    return compute_drivers(session, query, caller.scope())


def compute_drivers(session: Session, query: DriversQuery, scope: int | None = None) -> DriverResult:
    if query.metric not in OUTCOMES:
        raise InvalidInput.on("metric", f"expected one of {', '.join(OUTCOMES)}")
    if query.driver not in DRIVERS:
        raise InvalidInput.on("driver", f"expected one of {', '.join(DRIVERS)}")
    if any(b <= 0 for b in query.bands):
        raise InvalidInput.on("bands", "band limits are positive minutes")
    _check(MetricsQuery(metrics=("volume",), filters=query.filters, min_n=query.min_n))
    _scope_filters(session, MetricsQuery(filters=query.filters), scope)
    until = aware(query.until, query.tz) or datetime.now(UTC)
    since = aware(query.since, query.tz) or until - DEFAULT_WINDOW
    cutoffs = survey_cutoffs(session)
    frame = _driver_frame(_engine(session), query, _slug_maps(session), scope, since, until, cutoffs)
    return analyze_driver(frame, query.metric, query.driver, query.bands or None, query.min_n, cutoffs)


def _driver_frame(
    engine: Engine,
    query: DriversQuery,
    slugs: Mapping[str, Mapping[str, int]],
    scope: int | None,
    since: datetime,
    until: datetime,
    cutoffs: Cutoffs,
) -> pl.DataFrame:
    spec = DRIVERS[query.driver]
    kind: ColumnKind = (
        "bool" if spec.name == "first_contact_resolved" else "text" if spec.kind == "category" else "int"
    )
    columns = [Column("at", "submitted_at", "time"), Column(spec.column, spec.column, kind)]
    for name in ("nps", "csat", "ces"):
        if name != spec.column:
            columns.append(Column(name, name, "int"))
    if query.metric == "sentiment":
        columns.append(Column("id", "id", "key"))
    columns += _context_columns(_read_by((), "responses", cutoffs), engine.dialect.name)
    select_ = Select("responses", columns)
    select_.where_time("submitted_at", ">=", since).where_time("submitted_at", "<", until)
    _filtered(select_, query.filters, slugs, scope, engine.dialect.name)
    frame = read_frame(engine, select_)
    if query.metric == "sentiment":
        frame = _with_comment_polarity(engine, frame, select_)
    return frame


TIME_RULE = (
    "an ISO 8601 date or time: 2026-11-01, 2026-11-01T08:00:00Z or 2026-11-01T09:00:00+01:00; a time without"
    " a zone is UTC (in /api/metrics, the report's tz), a date alone is its midnight"
)


def parse_time(text: str | None, field_name: str) -> datetime | None:
    """An ISO date or time ("2026-11-01", "2026-11-01T08:00", with or without a zone; without one it is
    returned naive, to be read in a zone with ``aware``). Anything else is a 422 naming ``field_name``."""
    if not text or not text.strip():
        return None
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise InvalidInput.on(
            field_name, "expected an ISO date or time, e.g. 2026-11-01 or 2026-11-01T08:00Z"
        ) from None
    if not 1900 <= moment.year <= 2999:
        raise InvalidInput.on(field_name, "expected a time between the years 1900 and 2999")
    return moment


def parse_utc_time(text: str | None, field_name: str) -> datetime | None:
    """``parse_time`` with a time without a zone read as UTC: the rule of every time in a query."""
    return aware(parse_time(text, field_name))
