"""Headline tiles (NPS, CSAT, CES, responses for the period, each against the period before, with n, its
95% interval and the target), and which scores a department collects at all.

A department collects a score when one of its surveys asks it (a question of that kind). A metric that the
chosen department does not collect gets no tile and no empty chart, but a sentence saying why ("Delivery's
surveys do not ask NPS"), the same rule the digests follow.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from feedback.accounts.access import Caller
from feedback.analysis.metrics import METRICS
from feedback.dashboards.filters import PageFilters
from feedback.digests.numbers import Headline
from feedback.metrics.service import MetricsQuery, read_metrics, source_dimensions
from feedback.models import Department, Question, Survey

SCORES = ("nps", "csat", "ces")  # the metrics that need a question of their own kind
SCORE_NAMES = {"nps": "NPS", "csat": "CSAT", "ces": "CES"}
SCORE_OF = {"nps": "nps", "csat": "csat", "ces": "ces", "ces_easy": "ces"}


@dataclass(frozen=True)
class Tiles:
    tiles: list[Headline]
    missing: list[str]  # sentences: the scores the department does not collect


def collected_scores(session: Session, department_ids: Iterable[int] | None = None) -> dict[int, set[str]]:
    """Department id -> the scores (nps, csat, ces) its surveys ask (every department when None)."""
    query = (
        select(Survey.department_id, Question.kind)
        .join(Question, Question.survey_id == Survey.id)
        .where(Question.kind.in_(SCORES))
        .distinct()
    )
    if department_ids is not None:
        query = query.where(Survey.department_id.in_(list(department_ids)))
    out: dict[int, set[str]] = {}
    for department_id, kind in session.execute(query):
        out.setdefault(department_id, set()).add(str(kind))
    return out


def not_asked(department_name: str, metric: str) -> str:
    """Why a department has no figure for a metric: "Delivery's surveys do not ask NPS"."""
    return f"{department_name}'s surveys do not ask {SCORE_NAMES[SCORE_OF[metric]]}"


@dataclass(frozen=True)
class Asked:
    """What the page's department (or every department) collects, and its name for the sentences."""

    scores: set[str]
    department_name: str | None

    def missing(self, metric: str) -> str | None:
        """Why ``metric`` has no data at all for this department (None: it is collected, or not a score)."""
        score = SCORE_OF.get(metric)
        if score is None or score in self.scores:
            return None
        if self.department_name is None:
            return f"No survey asks {SCORE_NAMES[score]}"
        return not_asked(self.department_name, metric)


def asked_on_page(session: Session, page: PageFilters, caller: Caller) -> Asked:
    """Which scores the page's department (or ``caller``'s, for a head) collects."""
    scope = caller.scope()
    department_id = scope
    name = None
    if page.department is not None:
        row = session.execute(
            select(Department.id, Department.name).where(Department.slug == page.department)
        ).first()
        if row is not None:
            department_id, name = row[0], row[1]
    elif scope is not None:
        name = session.scalar(select(Department.name).where(Department.id == scope))
    found = collected_scores(session, None if department_id is None else [department_id])
    scores = set().union(*found.values()) if found else set()
    return Asked(scores, name)


def headline(
    session: Session, metrics: Sequence[str], page: PageFilters, caller: Caller, min_n: int, asked: Asked
) -> Tiles:
    """One tile per metric the department collects, over the page's dates against the days just before,
    of what ``caller`` may see (their department, for a head)."""
    shown = [m for m in metrics if asked.missing(m) is None]
    missing = [reason for m in metrics if (reason := asked.missing(m)) is not None]
    if not shown:
        return Tiles([], missing)
    since, until = page.window
    sources = {METRICS[m].source for m in shown}
    filters = {
        k: v for k, v in page.dimensions().items() if all(k in source_dimensions(s) for s in sources)
    }  # a mention's source narrows no survey score
    query = MetricsQuery(metrics=tuple(shown), since=since, until=until, filters=filters, min_n=min_n)
    rows = {r["metric"]: r for r in read_metrics(session, caller, query).table.iter_rows(named=True)}
    tiles = []
    for metric in shown:
        r = rows.get(metric, {})
        tiles.append(
            Headline(
                metric=metric,
                label=METRICS[metric].label,
                value=r.get("value"),
                n=int(r.get("n") or 0),
                previous=r.get("previous"),
                change=r.get("change"),
                target=r.get("target"),
                target_met=r.get("target_met"),
                small_sample=bool(r.get("small_sample")) and metric != "volume",
                low=r.get("low"),
                high=r.get("high"),
            )
        )
    return Tiles(tiles, missing)
