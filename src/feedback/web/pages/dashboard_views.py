"""What a dashboard page shows: each panel's figure (Plotly JSON) or table, for the page and for exports.

Figures are built once per cached result (services/dashboards/cache.py) and embedded as JSON with ``<``,
``>`` and ``&`` escaped (analysis/figures.py ``to_embed``); tables go through Jinja's autoescape. Links
from mentions are shown only when they are http(s).
"""

from __future__ import annotations

import gzip
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from importlib.resources import files
from pathlib import Path
from typing import Any

import jinja2
import polars as pl
from plotly.offline import get_plotlyjs_version  # type: ignore[import-untyped, unused-ignore]

from feedback.analysis.figures import (
    DIMENSION_LABELS,
    breakdown_figure,
    cause_trend_figure,
    causes_figure,
    to_embed,
    trend_figure,
)
from feedback.analysis.metrics import METRICS, Period
from feedback.analysis.outcome_figures import outcomes_figure
from feedback.services.dashboards.filters import PageFilters
from feedback.services.dashboards.panels import PanelData
from feedback.services.dashboards.spec import DashboardSpec

NONE = "\N{EN DASH}"  # a missing value
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
STATIC = Path(__file__).resolve().parent.parent / "static"


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


# -- plotly.js, from the installed plotly package ---------------------------------------------------------


def plotly_js_path() -> Path:
    return Path(str(files("plotly") / "package_data" / "plotly.min.js"))


PLOTLY_VERSION = get_plotlyjs_version()
PLOTLY_URL = f"/vendor/plotly-{PLOTLY_VERSION}.min.js"
_gzipped: dict[str, bytes] = {}
_gzip_lock = threading.Lock()


def plotly_js_gzip() -> bytes:
    """plotly.min.js compressed once per process (4.8 MB -> about 1.4 MB on the wire)."""
    with _gzip_lock:
        if "js" not in _gzipped:
            _gzipped["js"] = gzip.compress(plotly_js_path().read_bytes(), compresslevel=6, mtime=0)
        return _gzipped["js"]


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
        columns.append(DIMENSION_LABELS.get(spec.breakdown, spec.breakdown))
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
        "latest event",
    )
    rows = []
    for r in frame.iter_rows(named=True):
        event = f"{r['last_event']} ({r['last_event_at']:%Y-%m-%d})" if r["last_event"] else NONE
        rows.append(
            [
                Cell(r["cause"], quotes=tuple(r["verbatims"] or ())),
                Cell(r["owner"] or "(none)"),
                Cell(r["status"]),
                Cell(r["trend"] or NONE),
                _when(r["first_seen_at"]),
                _when(r["last_seen_at"]),
                Cell(f"{r['count']:,}", numeric=True),
                _num(r["nps_points_lost"], 2),
                _num(r["csat_points_lost"], 2),
                Cell(event),
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
    columns = ("when", "department", "channel", "product", "scores", "comment")
    rows = [
        [
            _when(r["submitted_at"]),
            Cell(r["department"] or NONE),
            Cell(r["channel"] or NONE),
            Cell(r["product"] or NONE),
            Cell(_scores(r)),
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


def panel_view(data: PanelData, min_n: int) -> PanelView:
    spec = data.spec
    base: dict[str, Any] = {
        "id": spec.id,
        "title": spec.title,
        "description": spec.description,
        "wide": spec.wide,
        "notes": tuple(data.notes),
    }
    frame = data.frame
    if frame.height == 0:
        return PanelView(**base, empty=True)
    if spec.kind == "metric" and spec.chart == "line":
        figure = trend_figure(
            frame, spec.metrics, spec.title, spec.period or Period.WEEK, spec.breakdown, min_n
        )
        return PanelView(**base, figure=to_embed(figure))
    if spec.kind == "metric" and spec.chart == "bar" and spec.breakdown:
        figure = breakdown_figure(frame, spec.metrics, spec.breakdown, spec.title, min_n)
        return PanelView(**base, figure=to_embed(figure))
    if spec.kind == "causes" and spec.chart == "bar":
        return PanelView(**base, figure=to_embed(causes_figure(frame, spec.title)))
    if spec.kind == "cause_trend":
        return PanelView(**base, figure=to_embed(cause_trend_figure(frame, spec.title)))
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
    return PanelView(**base, columns=columns, rows=rows)


def panel_views(panels: Sequence[PanelData], min_n: int) -> list[PanelView]:
    return [panel_view(p, min_n) for p in panels]


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
            _script_safe(plotly_js_path().read_text(encoding="utf-8")),
            _script_safe((STATIC / "dashboards.js").read_text()),
        ],
    }
    html = _environment().get_template("dashboards/dashboard.html").render(context)
    return html
