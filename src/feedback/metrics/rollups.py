"""Keeping the daily rollups (models/rollup.py) equal to the rows they count, and reading them.

Every write path updates them in its own transaction: ``add_responses`` when responses are stored,
``add_invitations`` for new invitations, ``add_answered`` when an invitation gets its response,
``count_mentions`` when mentions are stored or flagged as noise. ``rebuild``
recomputes days from the rows: after an erasure, after a bulk load that went around the services, after a
migration (`feedback metrics rebuild`). Each daily row has weekly and monthly sums beside it, written by the
same upserts and recounted from the daily rows (``_rebuild_spans``). Metrics read them through ``read_counts``
for whole UTC days (whole months and weeks from the coarser rows, ``cover``) and read the rows themselves only
for the hours at a window's edges (``plan``).
"""

from __future__ import annotations

import functools
import itertools
import uuid
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import polars as pl
from sqlalchemy import (
    Connection,
    Dialect,
    Engine,
    Table,
    and_,
    case,
    delete,
    func,
    literal,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql import bindparam
from sqlalchemy.sql.elements import ColumnElement

from feedback.analysis.scales import Cutoffs
from feedback.config import get_settings
from feedback.db.frames import Column, ColumnKind, Select, read_frame
from feedback.models import Answer, Invitation, Mention, Response
from feedback.models.context import context_column
from feedback.models.rollup import (
    DISSATISFIED_COUNTS,
    GRAINS,
    INVITATION_COUNTS,
    MENTION_COUNTS,
    MENTION_KEY,
    RESPONSE_COUNTS,
    RESPONSE_SUMS,
    ROLLUP_KEY,
    SCORE_RANGES,
    SPANS,
    invitation_rollups,
    mention_rollups,
    response_rollups,
    rollup_settings,
    span_grain,
)

Key = tuple[Any, ...]
_TABLES = {"responses": response_rollups, "invitations": invitation_rollups, "mentions": mention_rollups}
_COUNT = {"responses": "responses", "invitations": "invitations", "mentions": "mentions"}
MENTION_GRAIN = "mention"  # mention rollups hold every dimension of mentions: one grain answers any split
_ALWAYS = ("department", "survey", "channel")  # in every grain's key


def grain_for(source: str, dimensions: Iterable[str]) -> str | None:
    """The grain that answers metrics of ``source`` split or filtered by ``dimensions``; None when only the
    rows can (the agent, or two facets at once). Whole UTC days only: a caller reads the rows for the hours
    around a period that starts elsewhere than at a UTC midnight (days of another time zone)."""
    if source not in _TABLES:
        return None
    if source == "mentions":
        return MENTION_GRAIN
    facets = {d for d in dimensions if d not in _ALWAYS}
    if not facets:
        return GRAINS[0]
    if len(facets) == 1 and (facet := facets.pop()) in GRAINS:
        return facet
    return None


# -- writing -------------------------------------------------------------------------------------------------


def span_start(day: date, span: str) -> date:
    """The first day of the week (Monday) or month holding ``day``."""
    return day - timedelta(days=day.weekday()) if span == "week" else day.replace(day=1)


def span_end(start: date, span: str) -> date:
    """The day after the week or month that starts on ``start``."""
    return (
        start + timedelta(days=7)
        if span == "week"
        else (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    )


def _with_spans(key: Key) -> list[Key]:
    """A daily key (ROLLUP_KEY's values), then the keys of its week's and its month's rows."""
    grain, day, *rest = key
    return [key, *((span_grain(grain, span), span_start(day, span), *rest) for span in SPANS)]


def _utc_day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


_RESPONSE_COLUMNS = (*RESPONSE_COUNTS, *RESPONSE_SUMS, *DISSATISFIED_COUNTS)


def _change(row: Mapping[str, Any], mean: float | None, sign: int, cutoffs: Cutoffs) -> dict[str, float]:
    """What one response (as stored in responses) adds to each of its rollup rows; ``mean``: its mean
    comment polarity (None: no scored comment). ``sign=-1``: what removing it takes away."""
    change: dict[str, float] = dict.fromkeys(_RESPONSE_COLUMNS, 0)
    change["responses"] = sign
    scored = False
    for scale, scores in SCORE_RANGES.items():
        score = row.get(scale)
        if score is not None and score in scores:
            change[f"{scale}_{score}"] = sign
        if score is not None:
            scored = True
            if score <= cutoffs.of(scale).low_max:
                change["dissatisfied"] = sign
    resolved = row.get("first_contact_resolved")
    if resolved is not None:
        change["fcr_yes" if resolved else "fcr_no"] = sign
    if mean is not None:
        change.update(comments=sign, polarity_sum=sign * mean, polarity_sq=sign * mean * mean)
        if not scored and mean < cutoffs.negative_polarity:
            change["dissatisfied"] = sign
    if scored or mean is not None:
        change["judged"] = sign
    return change


def _context(row: Mapping[str, Any]) -> Key:
    """What a response's rollup keys are made of: its UTC day, survey, department, channel and facets."""
    department, channel = row.get("department_id") or 0, row.get("channel") or ""
    facets = (row.get(grain) or "" for grain in GRAINS)
    return (_utc_day(row["submitted_at"]), row["survey_id"], department, channel, *facets)


def _add(totals: dict[Key, dict[str, float]], row: Mapping[str, Any], change: Mapping[str, float]) -> None:
    """Add one response's change to the sum of its context's (a batch of responses has few contexts)."""
    total = totals[_context(row)]
    for name, value in change.items():
        if value:
            total[name] += value


def _spread(totals: Mapping[Key, Mapping[str, float]]) -> dict[Key, dict[str, float]]:
    """Each context's summed change added to its rollup row in every grain, and their weeks' and months'."""
    deltas = _no_deltas()
    for (day, survey, department, channel, *facets), total in totals.items():
        changed = [(name, value) for name, value in total.items() if value]
        if not changed:  # a rescore that moved nothing
            continue
        for grain, facet in zip(GRAINS, facets, strict=True):
            for key in _with_spans((grain, day, survey, department, channel, facet)):
                delta = deltas[key]
                for name, value in changed:
                    delta[name] += value
    return deltas


def _no_deltas() -> dict[Key, dict[str, float]]:
    return defaultdict(lambda: dict.fromkeys(_RESPONSE_COLUMNS, 0))


def response_deltas(
    rows: Iterable[Mapping[str, Any]],
    polarity: Mapping[uuid.UUID, float],
    sign: int = 1,
    cutoffs: Cutoffs | None = None,
) -> dict[Key, dict[str, float]]:
    """What ``rows`` (as stored in responses) add to each rollup row; ``polarity``: a response's mean comment
    polarity, by its id. ``sign=-1``: what removing them takes away. Dissatisfied by ``cutoffs`` (default:
    the settings')."""
    cutoffs = cutoffs or get_settings().cutoffs
    totals = _no_deltas()
    for row in rows:
        _add(totals, row, _change(row, polarity.get(row["id"]), sign, cutoffs))
    return _spread(totals)


def add_responses(
    connection: Connection,
    rows: Sequence[Mapping[str, Any]],
    polarity: Mapping[uuid.UUID, float],
    cutoffs: Cutoffs | None = None,
) -> None:
    """Count newly stored responses (``rows`` as inserted into responses); ``cutoffs``: the settings' unless
    given (a writer reads them once: reading the settings costs more than a batch's rollups)."""
    cutoffs = cutoffs or get_settings().cutoffs
    _upsert(connection, response_rollups, response_deltas(rows, polarity, cutoffs=cutoffs))
    _check_cutoffs(connection, cutoffs)


def remove_responses(
    connection: Connection,
    rows: Sequence[Mapping[str, Any]],
    polarity: Mapping[uuid.UUID, float],
    cutoffs: Cutoffs | None = None,
) -> None:
    """Stop counting responses about to change (a partial response updated or completed in place)."""
    cutoffs = cutoffs or get_settings().cutoffs
    _upsert(connection, response_rollups, response_deltas(rows, polarity, sign=-1, cutoffs=cutoffs))
    _check_cutoffs(connection, cutoffs)


def rescore_responses(
    connection: Connection,
    rows: Sequence[Mapping[str, Any]],
    before: Mapping[uuid.UUID, float],
    after: Mapping[uuid.UUID, float],
    cutoffs: Cutoffs | None = None,
) -> None:
    """Count responses whose mean comment polarity changed from ``before`` to ``after`` (by id; a response
    absent from one had no scored comment then): their comments were scored after they were stored."""
    cutoffs = cutoffs or get_settings().cutoffs
    totals = _no_deltas()
    for row in rows:  # only what the polarity changes: comments, their sums, judged, dissatisfied
        removed = _change(row, before.get(row["id"]), -1, cutoffs)
        added = _change(row, after.get(row["id"]), 1, cutoffs)
        _add(totals, row, {name: value + removed[name] for name, value in added.items()})
    _upsert(connection, response_rollups, _spread(totals))


def _fingerprint(cutoffs: Cutoffs) -> str:
    """What the dissatisfied counts depend on: each scale's low band and the negative polarity."""
    bands = ";".join(f"{scale}<={cutoffs.of(scale).low_max}" for scale in SCORE_RANGES)
    return f"{bands};polarity<{cutoffs.negative_polarity!r}"


def _check_cutoffs(connection: Connection, cutoffs: Cutoffs) -> None:
    """Counting dissatisfied responses by other cut-offs than the counts so far: mark them unusable (until
    a full rebuild), as they now mix two rules."""
    connection.execute(_MARK_MIXED, {"fingerprint": _fingerprint(cutoffs)})


_MARK_MIXED = (  # built once: it runs with every batch of responses
    update(rollup_settings)
    .where(rollup_settings.c.name == "cutoffs", rollup_settings.c.value != bindparam("fingerprint"))
    .values(value="mixed")
)


def counts_dissatisfied(engine: Engine, cutoffs: Cutoffs) -> bool:
    """Whether the rollups' dissatisfied counts are those of ``cutoffs``."""
    with engine.connect() as connection:
        value = connection.execute(
            select(rollup_settings.c.value).where(rollup_settings.c.name == "cutoffs")
        ).scalar()
    return value == _fingerprint(cutoffs)


def stored_rows(connection: Connection, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    """These responses' rows as the rollups count them, by id."""
    columns = ["id", "survey_id", "submitted_at", "nps", "csat", "ces", "first_contact_resolved"]
    columns += ["department_id", "channel", *GRAINS]
    found = connection.execute(
        select(*(Response.__table__.c[c] for c in columns)).where(Response.id.in_(ids))
    )
    return {row.id: dict(row._mapping) for row in found}


def stored_responses(
    connection: Connection, ids: Sequence[uuid.UUID]
) -> tuple[dict[uuid.UUID, dict[str, Any]], dict[uuid.UUID, float]]:
    """These responses as the rollups counted them: their rows by id, and their mean comment polarity."""
    rows = stored_rows(connection, ids)
    means = connection.execute(
        select(Answer.response_id, func.avg(Answer.polarity))
        .where(Answer.response_id.in_(ids), Answer.polarity.is_not(None))
        .group_by(Answer.response_id)
    )
    return rows, {rid: float(mean) for rid, mean in means}


def add_invitations(connection: Connection, rows: Iterable[Mapping[str, Any]]) -> None:
    """Count new invitations (``rows``: survey_id, created_at and the context fields)."""
    add_invitation_combos(connection, _combos(rows))


def add_invitation_combos(connection: Connection, combos: Mapping[Key, int]) -> None:
    """Count new invitations already counted by context: (created_at, survey_id, *INVITATION_CONTEXT
    values) -> how many (a bulk import counts its rows so, without a mapping per row)."""
    add_invitation_days(connection, invitation_days(combos))


def add_invitation_days(connection: Connection, daily: Mapping[Key, int]) -> None:
    """Count new invitations already summed per daily key by :func:`invitation_days` (a bulk import sums
    all its chunks so and stores them once: a few thousand keys however many rows it has)."""
    _upsert(connection, invitation_rollups, _invitation_deltas(daily, "invitations"))


def add_answered(connection: Connection, invitations: Iterable[Mapping[str, Any]]) -> None:
    """Count invitations that just got their response (counted on the day they were sent)."""
    daily = invitation_days(_combos(invitations))
    _upsert(connection, invitation_rollups, _invitation_deltas(daily, "responded"))


INVITATION_CONTEXT = ("department_id", "channel", *GRAINS)  # what an invitation's rollup keys hold


def _combos(rows: Iterable[Mapping[str, Any]]) -> Counter[Key]:
    """Rows counted by their whole context (a bulk import has few distinct ones)."""
    return Counter(
        (row["created_at"], row["survey_id"], *(row.get(name) for name in INVITATION_CONTEXT)) for row in rows
    )


def invitation_days(combos: Mapping[Key, int], into: Counter[Key] | None = None) -> Counter[Key]:
    """Invitations counted by context (``combos``, as add_invitation_combos takes them) summed per daily
    rollup key, added to ``into`` if given.

    A key holds one grain's facet only, so the thousands of contexts of an import's chunk share a few
    hundred keys, each spread over its week and month only when stored (_invitation_deltas)."""
    days: dict[datetime, date] = {}
    daily: Counter[Key] = Counter() if into is None else into
    for (at, survey_id, department, channel, *facets), count in combos.items():  # INVITATION_CONTEXT's order
        day = days[at] if at in days else days.setdefault(at, _utc_day(at))
        department, channel = department or 0, channel or ""
        for grain, facet in zip(GRAINS, facets, strict=True):
            daily[(grain, day, survey_id, department, channel, facet or "")] += count
    return daily


def _invitation_deltas(daily: Mapping[Key, int], column: str) -> dict[Key, dict[str, float]]:
    """Invitation rollup deltas adding the ``daily`` counts to ``column``, each daily key over its spans."""
    deltas: dict[Key, dict[str, float]] = defaultdict(lambda: {"invitations": 0, "responded": 0})
    for key, count in daily.items():
        for spread in _with_spans(key):
            deltas[spread][column] += count
    return deltas


# A mention as its rollup counts it: UTC day, source, department id, product, polarity.
MentionFact = tuple[date, str, int | None, str | None, float | None]


def mention_deltas(
    added: Iterable[MentionFact], removed: Iterable[MentionFact] = ()
) -> dict[Key, dict[str, float]]:
    """What storing the ``added`` mentions and flagging the ``removed`` ones as noise change in each
    mention rollup row (each fact: the mention's UTC day, source, department id, product and polarity)."""
    deltas: dict[Key, dict[str, float]] = defaultdict(
        lambda: dict.fromkeys((*MENTION_COUNTS, *RESPONSE_SUMS), 0)
    )
    for sign, facts in ((1, added), (-1, removed)):
        for day, source, department, product, polarity in facts:
            delta = deltas[(day, source, department or 0, product or "")]
            delta["mentions"] += sign
            if polarity is not None:
                delta["scored"] += sign
                delta["polarity_sum"] += sign * polarity
                delta["polarity_sq"] += sign * polarity * polarity
    return deltas


def count_mentions(
    connection: Connection, added: Iterable[MentionFact], removed: Iterable[MentionFact] = ()
) -> None:
    """Count newly stored mentions not flagged as noise (``added``) and stop counting mentions just flagged
    (``removed``); a row left counting nothing is deleted, as a recount would not make it."""
    removed = list(removed)
    _upsert(connection, mention_rollups, mention_deltas(added, removed))
    if removed:
        connection.execute(delete(mention_rollups).where(mention_rollups.c.mentions == 0))


def _key_names(table: Table) -> tuple[str, ...]:
    return tuple(c.name for c in table.primary_key.columns)


def _upsert(connection: Connection, table: Table, deltas: Mapping[Key, Mapping[str, float]]) -> None:
    """Add ``deltas`` to their rows, creating missing ones. Keys in order, so that two transactions lock the
    rows they share in the same order (no deadlock on PostgreSQL)."""
    if not deltas:
        return
    sql, names = _upsert_sql(table.name, connection.dialect)
    key = _key_names(table)
    is_sqlite = connection.dialect.name == "sqlite"
    rows = []
    for values, delta in sorted(deltas.items()):
        if is_sqlite:  # the day as SQLAlchemy stores a Date on SQLite
            values = tuple(v.isoformat() if isinstance(v, date) else v for v in values)
        row = dict(zip(key, values, strict=True))
        row.update(delta)
        rows.append(tuple(row[n] for n in names) if names else row)
    connection.exec_driver_sql(sql, rows)


_UPSERT_SQL: dict[tuple[str, str, str], tuple[str, tuple[str, ...] | None]] = {}


def _upsert_sql(table_name: str, dialect: Dialect) -> tuple[str, tuple[str, ...] | None]:
    """The upsert as the driver's SQL and the order of its parameters (None: named), compiled once: handing
    rows straight to the driver's executemany costs a fraction of SQLAlchemy's per-row parameter handling,
    which was most of what the rollups cost a batch of submissions."""
    cache_key = (table_name, dialect.name, str(dialect.paramstyle))
    if cache_key not in _UPSERT_SQL:
        table = {t.name: t for t in _TABLES.values()}[table_name]
        compiled = _upsert_statement(table_name, dialect.name).compile(
            dialect=dialect, column_keys=[c.name for c in table.columns]
        )
        order = tuple(compiled.positiontup or ()) if compiled.positional else None
        _UPSERT_SQL[cache_key] = (str(compiled), order)
    return _UPSERT_SQL[cache_key]


@functools.cache
def _upsert_statement(table_name: str, dialect_name: str) -> Any:
    """INSERT ... ON CONFLICT DO UPDATE adding to every count (built once: building it costs more than a
    batch's upsert)."""
    table = {t.name: t for t in _TABLES.values()}[table_name]
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    statement = dialect.insert(table)
    key = _key_names(table)
    sums = [c.name for c in table.columns if c.name not in key]
    return statement.on_conflict_do_update(
        index_elements=list(key),
        set_={name: table.c[name] + statement.excluded[name] for name in sums},
    )


# -- rebuilding from the rows --------------------------------------------------------------------------------


def _day_of(column: Any, dialect: str) -> ColumnElement[Any]:
    return func.date(column) if dialect == "sqlite" else func.cast(column, postgresql.DATE)


def _in_days(column: Any, days: Collection[date] | None) -> ColumnElement[bool]:
    if days is None:
        return true()
    starts = sorted(days)
    return or_(
        *(
            and_(
                column >= datetime.combine(d, time(), UTC),
                column < datetime.combine(d, time(), UTC) + timedelta(days=1),
            )
            for d in starts
        )
    )


def _key_columns(model: Any, at: Any, dialect: str, grain: str) -> list[ColumnElement[Any]]:
    return [
        literal(grain).label("grain"),
        _day_of(at, dialect).label("day"),
        model.survey_id.label("survey_id"),
        func.coalesce(model.department_id, 0).label("department_id"),
        func.coalesce(model.channel, "").label("channel"),
        func.coalesce(getattr(model, grain), "").label("facet"),
    ]


def rebuild_mentions(connection: Connection, days: Collection[date] | None = None) -> None:
    """Recompute the mention rollups of ``days`` (UTC; all days when None) from the mentions."""
    if days is not None and not days:
        return
    table = mention_rollups
    connection.execute(delete(table).where(true() if days is None else table.c.day.in_(sorted(days))))
    keys = [
        _day_of(Mention.posted_at, connection.dialect.name).label("day"),
        Mention.source.label("source"),
        func.coalesce(Mention.department_id, 0).label("department_id"),
        func.coalesce(Mention.product, "").label("product"),
    ]
    polarity = Mention.polarity
    counted = (
        select(
            *keys,
            func.count().label("mentions"),
            func.count(polarity).label("scored"),
            func.coalesce(func.sum(polarity), 0.0).label("polarity_sum"),
            func.coalesce(func.sum(polarity * polarity), 0.0).label("polarity_sq"),
        )
        .where(Mention.noise.is_(None), _in_days(Mention.posted_at, days))
        .group_by(*keys)
    )
    names = [*MENTION_KEY, *MENTION_COUNTS, *RESPONSE_SUMS]
    connection.execute(table.insert().from_select(names, counted))


def rebuild(connection: Connection, days: Collection[date] | None = None) -> None:
    """Recompute the rollups of ``days`` (UTC; all days when None) from the responses, invitations and
    mentions; all days: by the cut-offs of the settings from now on."""
    if days is not None and not days:
        return
    rebuild_mentions(connection, days)
    dialect = connection.dialect.name
    cutoffs = get_settings().cutoffs
    if days is None:  # everything is counted by these cut-offs now
        connection.execute(delete(rollup_settings).where(rollup_settings.c.name == "cutoffs"))
        connection.execute(rollup_settings.insert().values(name="cutoffs", value=_fingerprint(cutoffs)))
    else:
        _check_cutoffs(connection, cutoffs)
    for table in (response_rollups, invitation_rollups):
        connection.execute(delete(table).where(true() if days is None else table.c.day.in_(sorted(days))))

    mean = (
        select(Answer.response_id, func.avg(Answer.polarity).label("polarity"))
        .where(Answer.polarity.is_not(None))
        .group_by(Answer.response_id)
        .subquery()
    )
    one = 1

    def count_if(condition: ColumnElement[bool]) -> ColumnElement[Any]:
        return func.sum(case((condition, one), else_=0))

    scores = [
        count_if(getattr(Response, scale) == score).label(f"{scale}_{score}")
        for scale, values in SCORE_RANGES.items()
        for score in values
    ]
    polarity = mean.c.polarity
    for grain in GRAINS:
        keys = _key_columns(Response, Response.submitted_at, dialect, grain)
        response_rows = (
            select(
                *keys,
                func.count().label("responses"),
                *scores,
                count_if(context_column(Response, "first_contact_resolved").is_(True)).label("fcr_yes"),
                count_if(context_column(Response, "first_contact_resolved").is_(False)).label("fcr_no"),
                func.count(polarity).label("comments"),
                func.coalesce(func.sum(polarity), 0.0).label("polarity_sum"),
                func.coalesce(func.sum(polarity * polarity), 0.0).label("polarity_sq"),
                count_if(
                    or_(*(getattr(Response, s).is_not(None) for s in SCORE_RANGES), polarity.is_not(None))
                ).label("judged"),
                count_if(cutoffs.dissatisfied_sql(Response.nps, Response.csat, Response.ces, polarity)).label(
                    "dissatisfied"
                ),
            )
            .select_from(Response)
            .outerjoin(mean, mean.c.response_id == Response.id)
            .where(_in_days(Response.submitted_at, days))
            .group_by(*keys[1:])
        )
        names = [*ROLLUP_KEY, *RESPONSE_COUNTS, *RESPONSE_SUMS, *DISSATISFIED_COUNTS]
        connection.execute(response_rollups.insert().from_select(names, response_rows))

        keys = _key_columns(Invitation, Invitation.created_at, dialect, grain)
        invitation_rows = (
            select(
                *keys,
                func.count().label("invitations"),
                func.count(Invitation.responded_at).label("responded"),
            )
            .where(_in_days(Invitation.created_at, days))
            .group_by(*keys[1:])
        )
        names = [*ROLLUP_KEY, *INVITATION_COUNTS]
        connection.execute(invitation_rollups.insert().from_select(names, invitation_rows))
    for table in (response_rollups, invitation_rollups):
        _rebuild_spans(connection, table, days)


def rebuild_spans(connection: Connection) -> None:
    """Recount every weekly and monthly row from the daily ones (after the migration that added them)."""
    for table in (response_rollups, invitation_rollups):
        _rebuild_spans(connection, table, None)


def _span_start_sql(day: Any, span: str, dialect: str) -> ColumnElement[Any]:
    if dialect == "sqlite":
        return func.date(day, "weekday 0", "-6 days") if span == "week" else func.date(day, "start of month")
    return func.cast(func.date_trunc(span, day), postgresql.DATE)


def _rebuild_spans(connection: Connection, table: Table, days: Collection[date] | None) -> None:
    """Recount ``table``'s weekly and monthly rows holding ``days`` (all when None) from its daily rows."""
    dialect = connection.dialect.name
    key = _key_names(table)
    sums = [c.name for c in table.columns if c.name not in key]
    for span in SPANS:
        grains = [span_grain(grain, span) for grain in GRAINS]
        starts = None if days is None else sorted({span_start(d, span) for d in days})
        gone = table.c.grain.in_(grains)
        connection.execute(
            delete(table).where(gone if starts is None else and_(gone, table.c.day.in_(starts)))
        )
        inside = (
            true()
            if starts is None
            else or_(*(and_(table.c.day >= s, table.c.day < span_end(s, span)) for s in starts))
        )
        start = _span_start_sql(table.c.day, span, dialect)
        group = [start, table.c.survey_id, table.c.department_id, table.c.channel, table.c.facet]
        for grain in GRAINS:
            summed = (
                select(
                    literal(span_grain(grain, span)).label("grain"),
                    start.label("day"),
                    *group[1:],
                    *(func.sum(table.c[name]).label(name) for name in sums),
                )
                .where(table.c.grain == grain, inside)
                .group_by(*group)
            )
            connection.execute(table.insert().from_select([*key, *sums], summed))


def days_of(
    connection: Connection,
    response_ids: Collection[Any],
    invitation_ids: Collection[Any],
    mention_ids: Collection[Any] = (),
) -> set[date]:
    """The UTC days these responses were submitted, these invitations sent and these mentions posted (what
    erasing them changes)."""
    days: set[date] = set()
    for column, key, ids in (
        (Response.submitted_at, Response.id, list(response_ids)),
        (Invitation.created_at, Invitation.id, list(invitation_ids)),
        (Mention.posted_at, Mention.id, list(mention_ids)),
    ):
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            days.update(_utc_day(at) for (at,) in connection.execute(select(column).where(key.in_(part))))
    return days


# -- reading -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """Which whole UTC days to read from the rollups and which time ranges from the rows themselves."""

    days: list[tuple[date, date]]  # [first, last) day ranges
    rows: list[tuple[datetime, datetime]]  # [since, until) time ranges


def plan(boundaries: Iterable[datetime]) -> Plan:
    """Split the time between consecutive ``boundaries`` into whole UTC days (rollups) and the hours at each
    segment's ends (rows, never across a midnight or a boundary), so that no rollup day straddles a boundary
    and each range of rows falls in one day."""
    points = sorted({b.astimezone(UTC) for b in boundaries})
    days: list[tuple[date, date]] = []
    rows: list[tuple[datetime, datetime]] = []
    for start, end in itertools.pairwise(points):
        first = start.date() if start.timetz() == time(tzinfo=UTC) else start.date() + timedelta(days=1)
        last = end.date()
        if first < last:
            days.append((first, last))
            rows += _by_day(start, _midnight(first)) + _by_day(_midnight(last), end)
        else:
            rows += _by_day(start, end)
    return Plan(sorted(days), rows)


def cover(days: Iterable[tuple[date, date]]) -> dict[str, list[tuple[date, date]]]:
    """The [first, last) day ranges as whole months, then whole weeks (Monday to Sunday) at their edges, then
    days: the fewest rollup rows to read ("day", "week", "month" -> ranges, adjacent ones merged). Each range
    is covered alone, so no week or month crosses from one range into the next."""
    out: dict[str, list[tuple[date, date]]] = {"day": [], "week": [], "month": []}

    def split(first: date, last: date, spans: Sequence[str]) -> None:
        if first >= last:
            return
        if not spans:
            out["day"].append((first, last))
            return
        span, rest = spans[0], spans[1:]
        start = span_start(first, span)
        start = start if start == first else span_end(start, span)
        end = span_start(last, span)
        if start < end:
            out[span].append((start, end))
            split(first, start, rest)
            split(end, last, rest)
        else:
            split(first, last, rest)

    for first, last in days:
        split(first, last, ("month", "week"))
    return {span: _merged(ranges) for span, ranges in out.items()}


def _merged(ranges: Iterable[tuple[date, date]]) -> list[tuple[date, date]]:
    merged: list[tuple[date, date]] = []
    for first, last in sorted(ranges):
        if merged and merged[-1][1] == first:
            merged[-1] = (merged[-1][0], last)
        else:
            merged.append((first, last))
    return merged


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


def _by_day(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """[start, end) cut at each UTC midnight."""
    out = []
    while start < end:
        cut = min(end, _midnight(start.date() + timedelta(days=1)))
        out.append((start, cut))
        start = cut
    return out


def read_counts(
    engine: Engine,
    source: str,
    grain: str,
    by: Sequence[str],
    filters: Mapping[str, Sequence[Any]],
    scope: int | None,
    days: Sequence[tuple[date, date]],
) -> pl.DataFrame:
    """Counts of ``source`` in ``grain`` for ``days``, summed by day (or by week and month: whole ones
    inside a range come from the coarser rows, ``cover``) and ``by`` in the database (``filters``:
    dimension -> values, ids for department and survey). Columns: at (the start of the day, week or month,
    UTC), *by, ``rows`` and the rollup's counts."""
    table = _TABLES[source]
    mentions = source == "mentions"
    column_of = _MENTION_COLUMN if mentions else _COLUMN
    dims = [Column(name, column_of.get(name, "NULLIF(facet, '')"), _KIND.get(name, "text")) for name in by]
    key = _key_names(table)
    sums = [c.name for c in table.columns if c.name not in key]
    columns = [Column("at", "day", "time"), *dims]
    for name in sums:
        alias = "rows" if name == _COUNT[source] else _ALIAS.get(name, name)
        if name in RESPONSE_SUMS:
            columns.append(Column(alias, f"CAST(sum({name}) AS DOUBLE PRECISION)", "float"))
        else:  # a row's count fits an INTEGER; their sum is a BIGINT (PostgreSQL sums BIGINTs as NUMERIC,
            # and then sorts the groups rather than hashing them: 1.6-2x slower on a year's product split)
            columns.append(Column(alias, f"sum(CAST({name} AS INTEGER))", "int"))
    query = Select(table.name, columns)
    if mentions:
        merged = _merged(days)
        ranges = " OR ".join("(day >= ? AND day < ?)" for _ in merged)
        query.where(ranges or "1 = 0", *(d.isoformat() for pair in merged for d in pair))
    else:
        parts, params = [], []
        for span, spans in cover(days).items():
            if spans:
                ranges = " OR ".join("(day >= ? AND day < ?)" for _ in spans)
                parts.append(f"(grain = ? AND ({ranges}))")
                params += [grain if span == "day" else span_grain(grain, span)]
                params += [d.isoformat() for pair in spans for d in pair]
        query.where(" OR ".join(parts) or "1 = 0", *params)
    filter_of = _MENTION_FILTER if mentions else _FILTER
    for name, values in filters.items():
        query.where_in(filter_of.get(name, "facet"), list(values))
    if scope is not None:
        query.where("department_id = ?", scope)
    query.suffix = " GROUP BY " + ", ".join(["day", *(c.sql for c in dims)])
    query.few_rows = True  # days x groups, however many responses they count
    return read_frame(engine, query)


_COLUMN = {
    "department": "NULLIF(department_id, 0)",
    "survey": "survey_id",
    "survey_id": "survey_id",  # to band each survey's histograms by its own bands
    "channel": "NULLIF(channel, '')",
}
_KIND: dict[str, ColumnKind] = {"department": "int", "survey": "int", "survey_id": "int"}
_FILTER = {"department": "department_id", "survey": "survey_id", "channel": "channel"}
_MENTION_COLUMN = {
    "department": "NULLIF(department_id, 0)",
    "product": "NULLIF(product, '')",
    "source": "source",
}
_MENTION_FILTER = {"department": "department_id", "product": "product", "source": "source"}
_ALIAS = {"scored": "comments"}  # what analysis.metrics calls the count of polarities


def invitation_days_of(table: pl.DataFrame, at: datetime, survey_id: int, into: Counter[Key]) -> None:
    """What :func:`invitation_days` counts for invitations made at ``at``, given as a table with the
    columns of INVITATION_CONTEXT (a row each), added to ``into``."""
    day = _utc_day(at)
    department, channel = pl.col("department_id").fill_null(0), pl.col("channel").fill_null("")
    for grain in GRAINS:
        counts = table.group_by(department, channel, pl.col(grain).fill_null("")).len()
        for department_id, channel_name, facet, count in counts.iter_rows():
            into[(grain, day, survey_id, department_id, channel_name, facet)] += count
