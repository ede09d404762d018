"""What a dashboard page shows: each panel's figure (Plotly JSON) or table, for the page and for exports.

Figures are built once per cached result (dashboards/cache.py) and embedded as JSON with ``<``,
``>`` and ``&`` escaped (analysis/figures.py ``to_embed``); tables go through Jinja's autoescape. Links
from mentions are shown only when they are http(s).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
import polars as pl

from feedback.analysis.figures import (
    breakdown_figure,
    cause_trend_figure,
    causes_figure,
    to_embed,
    trend_figure,
)
from feedback.analysis.metrics import METRICS, Period
from feedback.analysis.outcome_figures import outcomes_figure
from feedback.dashboards.filters import PageFilters
from feedback.dashboards.headline import Asked
from feedback.dashboards.panels import PanelData
from feedback.dashboards.spec import DashboardSpec
from feedback.digests.numbers import Headline
from feedback.web.assets import PLOTLY, STATIC

NONE = "\N{EN DASH}"  # a missing value
TEMPLATES = Path(__file__).resolve().parent.parent / "web" / "templates"


@dataclass(frozen=True)
class Cell:
    text: str
    href: str | None = None
    quotes: tuple[str, ...] = ()
    numeric: bool = False
    muted: bool = False


@dataclass(frozen=True)
class PanelView:
    id: str
    title: str
    description: str
    wide: bool
    figure: str | None = None  # escaped JSON for a <script type="application/json">
    columns: tuple[str, ...] = ()
    rows: list[list[Cell]] = field(default_factory=list)
    notes: tuple[str, ...] = ()
    empty: bool = False
    empty_message: str = "No data for these filters."
    links: tuple[tuple[str, str], ...] = ()  # what each bar leads to, also as plain links (keyboard)
    unreviewed: int = 0  # candidate causes left off a chart of reviewed causes
    cards: bool = False  # a table shown as cards on a phone


@dataclass(frozen=True)
class TileView:
    metric: str
    label: str
    value: str
    change: str
    direction: str  # up, down, flat, none
    n: str
    interval: str
    target: str
    target_met: bool | None
    small_sample: bool


TILE_LABELS = {"nps": "NPS", "csat": "CSAT", "ces": "CES (1-7)", "volume": "Responses"}


def _signed(value: float, metric: str) -> str:
    digits = 2 if METRICS[metric].kind == "mean" else (0 if METRICS[metric].kind == "count" else 1)
    return f"{value:+,.{digits}f}"


def tile_view(tile: Headline, period_days: int) -> TileView:
    kind = METRICS[tile.metric].kind
    digits = 2 if kind == "mean" else (0 if kind == "count" else 1)
    unit = "%" if kind == "share" else ""
    value = NONE if tile.value is None else f"{tile.value:,.{digits}f}{unit}"
    if tile.metric == "nps" and tile.value is not None:
        value = f"{tile.value:+,.{digits}f}"
    if tile.change is None:
        change, direction = f"no figure for the {period_days} days before", "none"
    elif round(tile.change, digits) == 0:
        change, direction = f"unchanged on the {period_days} days before", "flat"
    else:
        change = f"{_signed(tile.change, tile.metric)} on the {period_days} days before"
        direction = "up" if tile.change > 0 else "down"
    interval = (
        f"95% interval {tile.low:,.{digits}f} to {tile.high:,.{digits}f}"
        if tile.low is not None and tile.high is not None
        else ""
    )
    target = "" if tile.target is None else f"target {tile.target:,.{digits}f}"
    if target:
        target += ": met" if tile.target_met else ": not met"
    return TileView(
        metric=tile.metric,
        label=TILE_LABELS.get(tile.metric, METRICS[tile.metric].label),
        value=value,
        change=change,
        direction=direction,
        n=f"n = {tile.n:,}",
        interval=interval,
        target=target,
        target_met=tile.target_met,
        small_sample=tile.small_sample,
    )


# -- cells ---------------------------------------------------------------------------------------------------


def _num(value: float | None, digits: int = 1) -> Cell:
    return Cell(NONE if value is None else f"{value:,.{digits}f}", numeric=True)


def _when(value: datetime | date | None) -> Cell:
    if value is None:
        return Cell(NONE)
    return Cell(value.strftime("%Y-%m-%d %H:%M") if isinstance(value, datetime) else value.isoformat())


def _link(url: str | None) -> str | None:
    return url if url and url.lower().startswith(("https://", "http://")) else None


def _scores(row: dict[str, Any]) -> str:
    parts = [f"{name.upper()} {row[name]}" for name in ("nps", "csat", "ces") if row.get(name) is not None]
    return ", ".join(parts) or NONE


def _metric_rows(data: PanelData) -> tuple[tuple[str, ...], list[list[Cell]]]:
    spec = data.spec
    columns: list[str] = []
    if spec.period is not None:
        columns.append("period")
    if spec.breakdown:
        columns.append(spec.breakdown)
    columns += ["metric", "value", "95% interval", "n", "change", "target"]
    rows = []
    for r in data.frame.iter_rows(named=True):
        digits = 2 if METRICS[r["metric"]].kind == "mean" else 1
        cells: list[Cell] = []
        if spec.period is not None:
            cells.append(_when(r["period"]))
        if spec.breakdown:
            cells.append(Cell(r[spec.breakdown] or "(none)"))
        interval = NONE if r["low"] is None else f"{r['low']:,.{digits}f} to {r['high']:,.{digits}f}"
        cells += [
            Cell(METRICS[r["metric"]].label),
            Cell(
                _num(r["value"], digits).text + (" *" if r["small_sample"] else ""),
                numeric=True,
                muted=bool(r["small_sample"]),
            ),
            Cell(interval, numeric=True),
            Cell(f"{r['n']:,}", numeric=True),
            _num(r["change"], digits),
            _num(r["target"], digits),
        ]
        rows.append(cells)
    return tuple(columns), rows


def _cause_rows(frame: pl.DataFrame) -> tuple[tuple[str, ...], list[list[Cell]]]:
    columns = (
        "root cause",
        "owner",
        "status",
        "trend",
        "first seen",
        "last seen",
        "times raised",
        "NPS points lost",
        "CSAT points lost",
        "revenue at risk (95% interval)",
        "follow-up",
    )
    rows = []
    for r in frame.iter_rows(named=True):
        reviewed = r["status"] != "candidate"
        rows.append(
            [
                Cell(r["cause"], href=cause_url(r["cause_id"]), quotes=tuple(r["verbatims"] or ())),
                Cell(r["owner"] or "(none)"),
                Cell("reviewed" if reviewed else "unreviewed candidate", muted=not reviewed),
                Cell(r["trend"] or NONE),
                _when(r["first_seen_at"]),
                _when(r["last_seen_at"]),
                Cell(f"{r['count']:,}", numeric=True),
                _num(r["nps_points_lost"], 2),
                _num(r["csat_points_lost"], 2),
                Cell(r["revenue_words"] or NONE, numeric=r["revenue_at_risk"] is not None),
                Cell(r["followup"] or ("not yet reported" if reviewed else "waiting for review")),
            ]
        )
    return columns, rows


def _outcome_rows(frame: pl.DataFrame) -> tuple[tuple[str, ...], list[list[Cell]]]:
    columns = ("group", "n", "value", "95% interval")
    rows = [
        [
            Cell(r["group"]),
            Cell(f"{r['n']:,}", numeric=True),
            _num(r["value"], 2),
            Cell(f"{r['low']:,.2f} to {r['high']:,.2f}", numeric=True),
        ]
        for r in frame.iter_rows(named=True)
    ]
    return columns, rows


def _verbatim_rows(frame: pl.DataFrame) -> tuple[tuple[str, ...], list[list[Cell]]]:
    columns = ("when", "department", "channel", "product", "scores", "cause", "comment")
    rows = [
        [
            _when(r["submitted_at"]),
            Cell(r["department"] or NONE),
            Cell(r["channel"] or NONE),
            Cell(r["product"] or NONE),
            Cell(_scores(r)),
            Cell(r["cause"], href=cause_url(r["cause_id"])) if r["cause_id"] else Cell(NONE),
            Cell(r["text"]),
        ]
        for r in frame.iter_rows(named=True)
    ]
    return columns, rows


def _mention_rows(frame: pl.DataFrame) -> tuple[tuple[str, ...], list[list[Cell]]]:
    columns = ("posted", "source", "author", "product", "sentiment", "text")
    rows = [
        [
            _when(r["posted_at"]),
            Cell(r["source"], href=_link(r["url"])),
            Cell(r["author"] or NONE),
            Cell(r["product"] or NONE),
            _num(r["polarity"], 2),
            Cell(r["text"]),
        ]
        for r in frame.iter_rows(named=True)
    ]
    return columns, rows


# -- panels --------------------------------------------------------------------------------------------------


def cause_url(key: str) -> str:
    return f"/causes/{quote(key, safe='')}"


def breakdown_links(
    frame: pl.DataFrame, by: str, filters: PageFilters | None, source: str = "responses"
) -> dict[str | None, str]:
    """What each group's bar leads to, with the page's filters narrowed to the group: the comments behind it
    (the department view's comments table), or for mentions the social-listening page's mentions."""
    if filters is None:
        return {}
    mentions = source == "mentions"
    where = "social-listening?{}#panel-recent-mentions" if mentions else "department?{}#panel-verbatims"
    return {
        value: "/dashboards/" + where.format(filters.narrowed(by, str(value)).query_string())
        for value in frame.get_column(by).unique().drop_nulls().to_list()
    }


def _why_empty(data: PanelData, asked: Asked | None) -> str:
    spec = data.spec
    if spec.kind == "metric" and asked is not None:
        reasons = [asked.missing(m) for m in spec.metrics]
        if all(reasons):
            return f"{reasons[0]}."
        labels = ", ".join(METRICS[m].label for m in spec.metrics)
        return f"No {labels} figures for these dates and filters."
    if spec.kind == "outcomes":
        return (
            "No customer outcomes to compare with yet: import orders and renewals (feedback outcomes import)."
        )
    return "Nothing for these dates and filters."


def panel_view(
    data: PanelData, min_n: int, asked: Asked | None = None, filters: PageFilters | None = None
) -> PanelView:
    spec = data.spec
    base: dict[str, Any] = {
        "id": spec.id,
        "title": spec.title,
        "description": spec.description,
        "wide": spec.wide,
        "notes": tuple(data.notes),
        "unreviewed": data.unreviewed,
    }
    frame = data.frame
    if frame.height == 0:
        return PanelView(**base, empty=True, empty_message=_why_empty(data, asked))
    if spec.kind == "metric" and spec.chart == "line":
        figure = trend_figure(
            frame, spec.metrics, spec.title, spec.period or Period.WEEK, spec.breakdown, min_n
        )
        return PanelView(**base, figure=to_embed(figure))
    if spec.kind == "metric" and spec.chart == "bar" and spec.breakdown:
        links = breakdown_links(frame, spec.breakdown, filters, METRICS[spec.metrics[0]].source)
        figure = breakdown_figure(frame, spec.metrics, spec.breakdown, spec.title, min_n, links)
        shown = tuple((str(group), url) for group, url in sorted(links.items(), key=lambda kv: str(kv[0])))
        return PanelView(**base, figure=to_embed(figure), links=shown)
    if spec.kind == "causes" and spec.chart == "bar":
        urls = {key: cause_url(key) for key in frame.get_column("cause_id").to_list()}
        figure = causes_figure(frame, spec.title, urls)
        labels = [
            f"{name}: revenue at risk {words}" if words else name
            for name, words in frame.select("cause", "revenue_words").iter_rows()
        ]
        named = tuple(zip(labels, urls.values(), strict=True))
        return PanelView(**base, figure=to_embed(figure), links=named)
    if spec.kind == "cause_trend":
        causes = frame.select("cause_id", "cause").unique(maintain_order=True)
        urls = {key: cause_url(key) for key in causes.get_column("cause_id").to_list()}
        named = tuple(zip(causes.get_column("cause").to_list(), urls.values(), strict=True))
        return PanelView(**base, figure=to_embed(cause_trend_figure(frame, spec.title, urls)), links=named)
    if spec.kind == "outcomes" and spec.chart == "bar":
        return PanelView(**base, figure=to_embed(outcomes_figure(frame, spec.title)))
    table = {
        "metric": _metric_rows,
        "causes": _cause_rows,
        "verbatims": _verbatim_rows,
        "mentions": _mention_rows,
        "outcomes": _outcome_rows,
    }[spec.kind]
    columns, rows = table(data) if spec.kind == "metric" else table(frame)  # type: ignore[operator]
    return PanelView(**base, columns=columns, rows=rows, cards=spec.kind in ("verbatims", "mentions"))


def panel_views(
    panels: Sequence[PanelData], min_n: int, asked: Asked | None = None, filters: PageFilters | None = None
) -> list[PanelView]:
    return [panel_view(p, min_n, asked, filters) for p in panels]


# -- self-contained HTML (exports) -------------------------------------------------------------------------


def _environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)


def _script_safe(code: str) -> str:
    """Code that cannot end its <script> element early."""
    return code.replace("</script", "<\\/script").replace("</SCRIPT", "<\\/SCRIPT")


def render_standalone(
    spec: DashboardSpec, views: Sequence[PanelView], filters: PageFilters, viewer: str, generated_at: datetime
) -> str:
    """One HTML file with everything in it (plotly.js, our script and styles): no request leaves it."""
    context = {
        "title": spec.title,
        "dashboard": spec,
        "panels": views,
        "filters": filters,
        "viewer": viewer,
        "generated_at": generated_at.strftime("%Y-%m-%d %H:%M UTC"),
        "standalone": True,
        "inline_css": (STATIC / "feedback.css").read_text() + (STATIC / "dashboards.css").read_text(),
        "inline_js": [
            _script_safe((STATIC / PLOTLY).read_text(encoding="utf-8")),
            _script_safe((STATIC / "dashboards.js").read_text()),
        ],
    }
    html = _environment().get_template("dashboards/dashboard.html").render(context)
    return html
