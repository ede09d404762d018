"""The dashboard file format: what a TOML file may say, checked with an error per file and field.

```toml
title = "Executive overview"
description = "How satisfied customers are, and what costs the most satisfaction."
audience = ["executive", "admin"]          # roles that may open it (a department head sees only their own)
days = 90                                  # the default date range: the last N days
headline = ["nps", "csat", "ces", "volume"] # optional: tiles first, each against the period before

[[panels]]
id = "nps-trend"                           # lowercase letters, digits and -; unique in the file
title = "NPS by week"
metric = "nps"                             # a metric (or a list of metrics of the same unit), or one of:
                                           # causes, cause_trend, verbatims, mentions
chart = "line"                             # line (over time), bar (by breakdown), table
period = "week"                            # day, week, month (line charts); none
breakdown = "department"                   # optional: department, channel, product, contractor, ...
filters = { channel = ["phone", "chat"] }  # optional, on top of the page's filters
limit = 10                                 # causes, verbatims, mentions: how many rows
negative_only = true                       # verbatims: only unhappy customers' comments
wide = true                                # span the whole width of the page
```
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from feedback.analysis.metrics import METRICS, Period
from feedback.analysis.text import control_character_error
from feedback.errors import FieldError, InvalidInput
from feedback.metrics.service import DIMENSIONS, SOURCE_DIMENSIONS
from feedback.models import Role

NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
SPECIAL = ("causes", "cause_trend", "verbatims", "mentions", "outcomes")
CHARTS: dict[str, tuple[str, ...]] = {
    "metric": ("line", "bar", "table"),
    "causes": ("bar", "table"),
    "cause_trend": ("line",),
    "verbatims": ("table",),
    "mentions": ("table",),
    "outcomes": ("bar", "table"),  # does satisfaction pay? (outcomes/panel.py)
}
FILE_KEYS = {"title", "description", "audience", "days", "headline", "panels"}
PANEL_KEYS = {
    "id",
    "title",
    "description",
    "metric",
    "chart",
    "period",
    "breakdown",
    "filters",
    "limit",
    "negative_only",
    "wide",
}
# Metrics drawn on one chart must share a unit.
UNITS = {
    "nps": "NPS points",
    "csat": "%",
    "ces_easy": "%",
    "fcr": "%",
    "response_rate": "%",
    "ces": "CES (1-7)",
    "volume": "count",
    "mention_volume": "count",
    "sentiment": "polarity",
    "mention_sentiment": "polarity",
}


@dataclass(frozen=True)
class PanelSpec:
    id: str
    title: str
    kind: str  # "metric" or one of SPECIAL
    chart: str
    metrics: tuple[str, ...] = ()
    period: Period | None = None
    breakdown: str | None = None
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)
    limit: int = 10
    negative_only: bool = False
    wide: bool = False
    description: str = ""


@dataclass(frozen=True)
class DashboardSpec:
    name: str  # the file's name without .toml: the URL's /dashboards/{name}
    title: str
    audience: tuple[Role, ...]
    panels: tuple[PanelSpec, ...]
    days: int = 90
    description: str = ""
    source: str = ""  # where it was read from
    headline: tuple[str, ...] = ()  # metrics shown as tiles above the panels

    def panel(self, panel_id: str) -> PanelSpec | None:
        return next((p for p in self.panels if p.id == panel_id), None)

    def allows(self, role: Role) -> bool:
        return role in self.audience


class _Errors:
    def __init__(self, where: str) -> None:
        self.where = where
        self.items: list[FieldError] = []

    def add(self, field_name: str, message: str) -> None:
        self.items.append(FieldError(f"{self.where}: {field_name}", message))


def _text(raw: Any, name: str, errors: _Errors, required: bool = True) -> str:
    if raw is None:
        if required:
            errors.add(name, "missing")
        return ""
    if not isinstance(raw, str) or (required and not raw.strip()):
        errors.add(name, "expected text")
        return ""
    if problem := control_character_error(raw.strip()):
        errors.add(name, problem)
        return ""
    return raw.strip()


def _names(raw: Any) -> list[Any]:
    return raw if isinstance(raw, list) else [raw]


def _filters(raw: Any, name: str, errors: _Errors) -> dict[str, tuple[str, ...]]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        errors.add(name, 'expected a table, e.g. { channel = ["phone"] }')
        return {}
    out: dict[str, tuple[str, ...]] = {}
    for key, value in raw.items():
        values = _names(value)
        if key not in DIMENSIONS:
            errors.add(f"{name}.{key}", f"unknown dimension (known: {', '.join(DIMENSIONS)})")
        elif not values or not all(isinstance(v, str) and v for v in values):
            errors.add(f"{name}.{key}", "expected a value or a list of values")
        else:
            out[key] = tuple(values)
    return out


def _metrics(raw: Any, name: str, errors: _Errors) -> tuple[str, tuple[str, ...]]:
    """The panel's kind ("metric" or a special one) and its metrics."""
    values = _names(raw)
    if raw is None or not values:
        errors.add(name, f"missing (a metric: {', '.join(METRICS)}; or one of {', '.join(SPECIAL)})")
        return "metric", ()
    if len(values) == 1 and values[0] in SPECIAL:
        return str(values[0]), ()
    unknown = [v for v in values if v not in METRICS]
    if unknown:
        errors.add(name, f"unknown metric {unknown[0]!r} (known: {', '.join([*METRICS, *SPECIAL])})")
        return "metric", ()
    units = {UNITS[v] for v in values}
    if len(units) > 1:
        errors.add(name, f"metrics on one chart must share a unit; these mix {', '.join(sorted(units))}")
    return "metric", tuple(dict.fromkeys(values))


def _panel(raw: Any, where: str, errors: _Errors) -> PanelSpec | None:
    if not isinstance(raw, dict):
        errors.add(where, "expected a table ([[panels]])")
        return None
    for key in sorted(set(raw) - PANEL_KEYS):
        errors.add(f"{where}.{key}", f"unknown field (known: {', '.join(sorted(PANEL_KEYS))})")
    before = len(errors.items)
    panel_id = _text(raw.get("id"), f"{where}.id", errors)
    if panel_id and not NAME.match(panel_id):
        errors.add(f"{where}.id", "lowercase letters, digits and - only")
    title = _text(raw.get("title"), f"{where}.title", errors)
    kind, metrics = _metrics(raw.get("metric"), f"{where}.metric", errors)
    allowed = CHARTS[kind]
    chart = raw.get("chart", allowed[0])
    if chart not in allowed:
        errors.add(f"{where}.chart", f"expected one of {', '.join(allowed)} for {kind} panels")
    period_raw = raw.get("period", "week" if chart == "line" else "none")
    period: Period | None = None
    if period_raw != "none":
        try:
            period = Period(period_raw)
        except ValueError:
            errors.add(f"{where}.period", "expected day, week, month or none")
    if chart == "line" and kind == "metric" and period is None:
        errors.add(f"{where}.period", "a line chart is over time: day, week or month")
    breakdown = raw.get("breakdown")
    if breakdown is not None:
        if kind != "metric":
            errors.add(f"{where}.breakdown", f"{kind} panels have no breakdown")
        elif breakdown not in DIMENSIONS:
            errors.add(f"{where}.breakdown", f"unknown dimension (known: {', '.join(DIMENSIONS)})")
        else:
            for metric in metrics:
                source = METRICS[metric].source
                if breakdown not in SOURCE_DIMENSIONS[source]:
                    errors.add(f"{where}.breakdown", f"{metric} cannot be split by {breakdown}")
    if chart == "bar" and kind == "metric" and breakdown is None:
        errors.add(f"{where}.breakdown", "a bar chart compares groups: name a breakdown")
    limit = raw.get("limit", 10)
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 200:
        errors.add(f"{where}.limit", "expected a whole number from 1 to 200")
        limit = 10
    flags = {}
    for flag in ("negative_only", "wide"):
        flags[flag] = raw.get(flag, False)
        if not isinstance(flags[flag], bool):
            errors.add(f"{where}.{flag}", "expected true or false")
    filters = _filters(raw.get("filters"), f"{where}.filters", errors)
    description = _text(raw.get("description"), f"{where}.description", errors, required=False)
    if len(errors.items) > before:
        return None
    return PanelSpec(
        id=panel_id,
        title=title,
        kind=kind,
        chart=str(chart),
        metrics=metrics,
        period=period,
        breakdown=breakdown,
        filters=filters,
        limit=limit,
        negative_only=bool(flags["negative_only"]),
        wide=bool(flags["wide"]),
        description=description,
    )


def parse_dashboard(data: dict[str, Any], name: str, source: str = "") -> DashboardSpec:
    """A checked dashboard, or InvalidInput naming every problem as ``file: field``."""
    errors = _Errors(source or f"{name}.toml")
    if not NAME.match(name):
        errors.add("name", "the file name must be lowercase letters, digits and - (then .toml)")
    for key in sorted(set(data) - FILE_KEYS):
        errors.add(key, f"unknown field (known: {', '.join(sorted(FILE_KEYS))})")
    title = _text(data.get("title"), "title", errors)
    description = _text(data.get("description"), "description", errors, required=False)
    audience: list[Role] = []
    raw_audience = data.get("audience")
    if raw_audience is None:
        errors.add("audience", f"missing: a list of roles ({', '.join(Role)})")
    else:
        for role in _names(raw_audience):
            try:
                audience.append(Role(role))
            except ValueError:
                errors.add("audience", f"unknown role {role!r} (known: {', '.join(Role)})")
    days = data.get("days", 90)
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 3660:
        errors.add("days", "expected a whole number of days from 1 to 3660")
        days = 90
    headline: list[str] = []
    for metric in _names(data.get("headline", [])):
        if metric not in METRICS or METRICS[metric].source != "responses":
            errors.add("headline", f"unknown survey metric {metric!r} (known: nps, csat, ces, volume, ...)")
        else:
            headline.append(metric)
    raw_panels = data.get("panels")
    panels: list[PanelSpec] = []
    if not isinstance(raw_panels, list) or not raw_panels:
        errors.add("panels", "missing: at least one [[panels]] table")
    else:
        for i, raw in enumerate(raw_panels):
            panel = _panel(raw, f"panels[{i}]", errors)
            if panel is not None:
                if any(p.id == panel.id for p in panels):
                    errors.add(f"panels[{i}].id", f"{panel.id!r} is used by another panel")
                panels.append(panel)
    if errors.items:
        raise InvalidInput.of(errors.items)
    return DashboardSpec(
        name=name,
        title=title,
        audience=tuple(dict.fromkeys(audience)),
        panels=tuple(panels),
        days=days,
        description=description,
        source=source,
        headline=tuple(dict.fromkeys(headline)),
    )


def read_dashboard(path: Path) -> DashboardSpec:
    """The dashboard in the TOML file at ``path`` (named after the file)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidInput.on(str(path), f"cannot read: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise InvalidInput.on(str(path), f"not valid TOML: {error}") from None
    return parse_dashboard(data, path.stem, str(path))
