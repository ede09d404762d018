"""Plotly figures from Polars frames of aggregates: pure functions, no database, no web.

Every figure has a title and axis titles; a metric's 95% interval is drawn (a band for one or two lines,
error bars otherwise) and values on fewer answers than the small-sample limit are marked with open grey
markers (lines) or pale bars with a "*" (bars). Text that customers or systems wrote (group names, cause
names) is HTML-escaped before it goes into a figure: Plotly reads a little HTML in text and hover labels,
and must show ``<b>`` as those three characters, never as bold.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

import plotly.graph_objects as go  # type: ignore[import-untyped, unused-ignore]
import polars as pl

from feedback.analysis.metrics import METRICS, Period

COLORS = ("#1d4ed8", "#b45309", "#047857", "#7c3aed", "#be123c", "#0e7490", "#4d7c0f", "#a21caf")
SMALL = "#9ca3af"
LONGEST_WORD = 48  # a single word longer than this is cut on an axis (whole in the hover label)
TARGET = "#111827"
PERIOD_AXIS = {Period.DAY: "day", Period.WEEK: "week starting", Period.MONTH: "month"}
_TEMPLATE = go.layout.Template(
    layout={
        "font": {
            "family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif",
            "size": 13,
            "color": "#111827",
        },
        "colorway": list(COLORS),
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "xaxis": {
            "gridcolor": "#e5e7eb",
            "linecolor": "#6b7280",
            "zerolinecolor": "#d1d5db",
            "automargin": True,
        },
        "yaxis": {
            "gridcolor": "#e5e7eb",
            "linecolor": "#6b7280",
            "zerolinecolor": "#d1d5db",
            "automargin": True,
        },
        "hoverlabel": {"align": "left"},
    }
)


def safe(text: object) -> str:
    """Text shown as text by Plotly (which renders some HTML tags): every tag and entity escaped."""
    return html.escape("" if text is None else str(text), quote=False)  # Plotly decodes &lt; &gt; &amp; only


def to_embed(figure: go.Figure) -> str:
    """The figure as JSON that is safe inside a <script type="application/json"> element."""
    text = str(figure.to_json())
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def metric_label(metrics: Sequence[str]) -> str:
    """The value axis's title: the metric's label, or the unit that several metrics share."""
    if len(metrics) == 1:
        return METRICS[metrics[0]].label
    if all(METRICS[m].kind == "count" for m in metrics):
        return "count"
    if all("sentiment" in m for m in metrics):
        return "mean polarity (-1 to +1)"
    return " / ".join(METRICS[m].label for m in metrics)


def _layout(
    title: str,
    x_title: str,
    y_title: str,
    height: int = 340,
    xaxis: Mapping[str, Any] | None = None,
    yaxis: Mapping[str, Any] | None = None,
    **more: Any,
) -> dict[str, Any]:
    """A figure's whole layout, to give ``go.Figure`` at once: its constructor checks it in about a
    millisecond, where ``update_layout`` and ``update_xaxes`` took 7-8 ms a figure (10-12 on a dashboard)."""
    return {
        "template": _TEMPLATE,
        "title": {"text": safe(title), "x": 0, "xanchor": "left", "font": {"size": 15}},
        "xaxis": {**(xaxis or {}), "title": {"text": safe(x_title)}},
        "yaxis": {**(yaxis or {}), "title": {"text": safe(y_title)}},
        "height": height,
        "margin": {"l": 10, "r": 10, "t": 48, "b": 10},
        # Below everything (the x axis's title included), wherever the plot's bottom ends up.
        "legend": {"orientation": "h", "yref": "container", "yanchor": "bottom", "y": 0, "x": 0},
        "hovermode": "closest",
        **more,
    }


def _fmt(value: float | None, digits: int = 1) -> str:
    return "\N{EN DASH}" if value is None else f"{value:,.{digits}f}"


def _series(table: pl.DataFrame, metrics: Sequence[str], by: str | None) -> list[tuple[str, pl.DataFrame]]:
    """One (name, rows) per metric and group, in a stable order."""
    out: list[tuple[str, pl.DataFrame]] = []
    for metric in metrics:
        rows = table.filter(pl.col("metric") == metric)
        if by is None:
            if rows.height:
                out.append((METRICS[metric].label, rows))
            continue
        groups = rows.get_column(by).unique(maintain_order=False).sort(nulls_last=True).to_list()
        for group in groups:
            part = rows.filter(pl.col(by).is_null() if group is None else pl.col(by) == group)
            label = "(none)" if group is None else str(group)
            name = label if len(metrics) == 1 else f"{METRICS[metric].label}: {label}"
            out.append((name, part))
    return out


def _hover(rows: pl.DataFrame, name: str, digits: int) -> list[str]:
    lines = []
    for r in rows.iter_rows(named=True):
        text = f"<b>{safe(name)}</b><br>{r['period']}: {_fmt(r['value'], digits)}"
        if r.get("low") is not None and r.get("high") is not None:
            text += f"<br>95% interval {_fmt(r['low'], digits)} to {_fmt(r['high'], digits)}"
        text += f"<br>n = {r['n']:,}"
        if r.get("small_sample"):
            text += " (small sample)"
        if r.get("target") is not None:
            text += f"<br>target {_fmt(r['target'], digits)}"
        lines.append(text)
    return lines


def trend_figure(
    table: pl.DataFrame,
    metrics: Sequence[str],
    title: str,
    period: Period,
    by: str | None = None,
    min_n: int = 30,
) -> go.Figure:
    """Metrics over time: one line per metric (and group), its interval, small samples and targets.

    ``table``: the metrics service's result (period, [by], metric, value, n, low, high, small_sample, target).
    """
    traces: list[go.Scatter] = []
    series = _series(table.sort("period"), metrics, by)
    band = len(series) <= 2
    digits = 2 if any(METRICS[m].kind == "mean" for m in metrics) else 1
    for i, (name, rows) in enumerate(series):
        color = COLORS[i % len(COLORS)]
        x = [str(p) for p in rows.get_column("period").to_list()]
        y = rows.get_column("value").to_list()
        has_interval = rows.get_column("low").null_count() < rows.height
        if has_interval and band:
            traces.append(
                go.Scatter(
                    x=x + x[::-1],
                    y=rows.get_column("high").to_list() + rows.get_column("low").to_list()[::-1],
                    fill="toself",
                    fillcolor=color,
                    opacity=0.15,
                    line={"width": 0},
                    hoverinfo="skip",
                    name=f"{safe(name)}: 95% interval",
                    legendgroup=str(i),
                    showlegend=True,
                )
            )
        error_y = None
        if has_interval and not band:
            values = rows.select(
                (pl.col("high") - pl.col("value")).alias("up"),
                (pl.col("value") - pl.col("low")).alias("down"),
            )
            error_y = {
                "type": "data",
                "array": values["up"].to_list(),
                "arrayminus": values["down"].to_list(),
                "thickness": 1,
                "width": 3,
                "color": color,
            }
        traces.append(
            go.Scatter(
                x=x,
                y=y,
                mode="lines+markers",
                name=safe(name),
                line={"color": color, "width": 2},
                marker={"size": 6},
                error_y=error_y,
                legendgroup=str(i),
                hovertext=_hover(rows, name, digits),
                hoverinfo="text",
            )
        )
        targets = rows.get_column("target").to_list() if "target" in rows.columns else []
        if any(t is not None for t in targets):
            traces.append(
                go.Scatter(
                    x=x,
                    y=targets,
                    mode="lines",
                    name=f"{safe(name)}: target",
                    line={"color": color, "dash": "dash", "width": 1.5},
                    legendgroup=str(i),
                    hoverinfo="skip",
                )
            )
    small = table.filter(pl.col("small_sample")) if "small_sample" in table.columns else table.clear()
    if small.height:
        small = small.sort("period")
        traces.append(
            go.Scatter(
                x=[str(p) for p in small.get_column("period").to_list()],
                y=small.get_column("value").to_list(),
                mode="markers",
                name=f"small sample (n &lt; {min_n})",
                marker={"symbol": "circle-open", "size": 13, "color": SMALL, "line": {"width": 2}},
                hoverinfo="skip",
            )
        )
    height = 340 + 22 * max(0, len(series) - 1)  # room for the legend's extra lines
    xaxis = _date_axis(table.get_column("period").unique().to_list())
    layout = _layout(title, PERIOD_AXIS[period], metric_label(metrics), height=height, xaxis=xaxis)
    return go.Figure(data=traces, layout=layout)


def _date_axis(days: Sequence[Any]) -> dict[str, Any]:
    """Dates as days (never hours); a week either side of a lone point (not a zoom to milliseconds)."""
    axis: dict[str, Any] = {"type": "date", "tickformat": "%d %b\n%Y", "hoverformat": "%d %b %Y"}
    if len(days) == 1 and days[0] is not None:
        only = days[0]
        axis["range"] = [str(only - timedelta(days=7)), str(only + timedelta(days=7))]
    return axis


def breakdown_figure(
    table: pl.DataFrame,
    metrics: Sequence[str],
    by: str,
    title: str,
    min_n: int = 30,
    links: Mapping[str | None, str] | None = None,
) -> go.Figure:
    """Groups side by side (horizontal bars, best at the top), each with its interval; n on the axis.

    Groups on fewer answers than ``min_n`` and the group without a value ("(none)") go to the bottom, grey,
    and do not set the value axis's range (a "(none)" of n = 2 at 100 must not squeeze the real groups).
    ``links``: a URL per group (raw value), put in each bar's ``customdata`` for the page to follow.
    """
    traces: list[go.Bar | go.Scatter] = []
    first = table.filter(pl.col("metric") == metrics[0])
    weak = pl.col("small_sample") | pl.col(by).is_null()
    reliable = first.filter(~weak).sort("value", descending=False, nulls_last=False)
    doubtful = first.filter(weak).sort("n", descending=False)
    ordered = pl.concat([doubtful, reliable])  # the first category is drawn at the bottom
    order = [safe("(none)" if g is None else g) for g in ordered.get_column(by).to_list()]
    ticks = [
        _wrap("(none)" if r[by] is None else str(r[by]), 26)
        + f" (n={r['n']:,}{'*' if r['small_sample'] else ''})"
        for r in ordered.iter_rows(named=True)
    ]
    digits = 2 if any(METRICS[m].kind == "mean" for m in metrics) else 1
    bounds: list[float] = [0.0]
    for i, metric in enumerate(metrics):
        rows = table.filter(pl.col("metric") == metric)
        if rows.height == 0:
            continue
        color = COLORS[i % len(COLORS)]
        raw = rows.get_column(by).to_list()
        groups = [safe("(none)" if g is None else g) for g in raw]
        grey = [
            bool(s) or g is None for s, g in zip(rows.get_column("small_sample").to_list(), raw, strict=True)
        ]
        values = rows.get_column("value").to_list()
        for r, g in zip(rows.iter_rows(named=True), grey, strict=True):
            if not g:
                bounds += [v for v in (r["value"], r["low"], r["high"], r.get("target")) if v is not None]
        error_x = None
        if rows.get_column("low").null_count() < rows.height:
            spans = rows.select(
                (pl.col("high") - pl.col("value")).alias("up"),
                (pl.col("value") - pl.col("low")).alias("down"),
            )
            error_x = {
                "type": "data",
                "array": spans["up"].to_list(),
                "arrayminus": spans["down"].to_list(),
                "thickness": 1.2,
                "width": 4,
                "color": "#374151",
            }
        hover = [
            f"<b>{g}</b><br>{safe(METRICS[metric].label)}: {_fmt(r['value'], digits)}"
            + (
                f"<br>95% interval {_fmt(r['low'], digits)} to {_fmt(r['high'], digits)}"
                if r["low"] is not None
                else ""
            )
            + f"<br>n = {r['n']:,}"
            + (" (small sample)" if r["small_sample"] else "")
            + (f"<br>target {_fmt(r['target'], digits)}" if r.get("target") is not None else "")
            for g, r in zip(groups, rows.iter_rows(named=True), strict=True)
        ]
        traces.append(
            go.Bar(
                x=values,
                y=groups,
                orientation="h",
                name=safe(METRICS[metric].label),
                error_x=error_x,
                marker={"color": [SMALL if g else color for g in grey]},
                hovertext=hover,
                hoverinfo="text",
                customdata=[(links or {}).get(g) for g in raw] if links else None,
            )
        )
        if "target" in rows.columns and rows.get_column("target").null_count() < rows.height:
            traces.append(
                go.Scatter(
                    x=rows.get_column("target").to_list(),
                    y=groups,
                    mode="markers",
                    name="target",
                    marker={"symbol": "line-ns", "size": 18, "line": {"width": 3, "color": TARGET}},
                    hoverinfo="skip",
                )
            )
    more: dict[str, Any] = {}
    if doubtful.height:
        note = {
            "text": f"grey, at the bottom: small samples (n &lt; {min_n}, marked *) and no value",
            "xref": "paper",
            "yref": "paper",
            "x": 0,
            "y": 1.0,
            "yanchor": "bottom",
            "showarrow": False,
            "font": {"size": 11, "color": "#4b5563"},
            "xanchor": "left",
        }
        more["annotations"] = [note]
    xaxis: dict[str, Any] = {}
    if reliable.height:
        low, high = min(bounds), max(bounds)
        pad = (high - low) * 0.06 or 1.0
        xaxis["range"] = [low - pad, high + pad]
    height = max(260, 90 + 30 * len(order) * max(1, len(metrics)))
    yaxis = {
        "categoryorder": "array",
        "categoryarray": order,
        "tickmode": "array",
        "tickvals": order,
        "ticktext": ticks,
    }
    layout = _layout(
        title, metric_label(metrics), by, height=height, xaxis=xaxis, yaxis=yaxis, barmode="group", **more
    )
    return go.Figure(data=traces, layout=layout)


def _wrap(text: str, width: int = 24, lines: int = 3) -> str:
    """A long name on up to ``lines`` lines of about ``width`` characters (escaped; cut with an ellipsis),
    so that axis labels stay whole on a phone instead of being cut at the figure's edge."""
    out: list[str] = []
    for word in text.split():
        if out and len(out[-1]) + 1 + len(word) <= width:
            out[-1] += " " + word
        else:
            out.append(word)
    if len(out) > lines:
        out = out[:lines]
        out[-1] = out[-1][: width - 1] + "\N{HORIZONTAL ELLIPSIS}"
    return "<br>".join(
        safe(line if len(line) <= LONGEST_WORD else line[: LONGEST_WORD - 1] + "\N{HORIZONTAL ELLIPSIS}")
        for line in out
    )


def causes_figure(causes: pl.DataFrame, title: str, links: Mapping[str, str] | None = None) -> go.Figure:
    """Root causes ranked by the NPS points they cost in the window (the largest at the top).

    ``links``: a URL per cause id, in each bar's ``customdata`` for the page to follow.
    """
    rows = causes.sort("nps_points_lost", descending=False, nulls_last=False)
    names = [safe(n) for n in rows.get_column("cause").to_list()]
    hover = [
        f"<b>{safe(r['cause'])}</b><br>NPS points lost: {_fmt(r['nps_points_lost'], 2)}"
        f"<br>CSAT points lost: {_fmt(r['csat_points_lost'], 2)}<br>raised {r['count']:,} times"
        f"<br>owner: {safe(r['owner'] or '(none)')}<br>status: {safe(r['status'])}, {safe(r['trend'] or '')}"
        + (f"<br>revenue at risk: {safe(r['revenue_words'])}" if r.get("revenue_words") else "")
        for r in rows.iter_rows(named=True)
    ]
    at_risk = [
        f" \N{MIDDLE DOT} at risk {r['revenue_words']}" if r.get("revenue_words") else ""
        for r in rows.iter_rows(named=True)
    ]
    bar = go.Bar(
        x=rows.get_column("nps_points_lost").to_list(),
        y=names,
        orientation="h",
        name="NPS points lost",
        marker={"color": COLORS[4]},
        hovertext=hover,
        hoverinfo="text",
        text=[
            f"{c:,}\N{MULTIPLICATION SIGN}{risk}"
            for c, risk in zip(rows.get_column("count").to_list(), at_risk, strict=True)
        ],
        textposition="auto",
        customdata=[links.get(c) for c in rows.get_column("cause_id").to_list()] if links else None,
    )
    height = max(260, 90 + 34 * rows.height)
    ticks = [_wrap(n) for n in rows.get_column("cause").to_list()]
    yaxis = {"tickmode": "array", "tickvals": names, "ticktext": ticks}
    layout = _layout(title, "NPS points lost in the period", "root cause", height=height, yaxis=yaxis)
    return go.Figure(data=[bar], layout=layout)


def cause_trend_figure(ledger: pl.DataFrame, title: str, links: Mapping[str, str] | None = None) -> go.Figure:
    """How often each cause came back, period by period (``ledger``: period_start, cause_id, cause, count,
    share). ``links``: a URL per cause id, in each point's ``customdata`` for the page to follow."""
    traces = []
    causes = ledger.select("cause_id", "cause").unique(maintain_order=True)
    for i, (key, cause) in enumerate(causes.iter_rows()):
        rows = ledger.filter(pl.col("cause_id") == key).sort("period_start")
        hover = [
            f"<b>{safe(cause)}</b><br>{r['period_start']}: raised {r['count']:,} times"
            f" ({r['share'] * 100:.1f}% of feedback)"
            for r in rows.iter_rows(named=True)
        ]
        traces.append(
            go.Scatter(
                x=[str(d) for d in rows.get_column("period_start").to_list()],
                y=rows.get_column("count").to_list(),
                mode="lines+markers",
                name=safe(cause),
                line={"color": COLORS[i % len(COLORS)]},
                hovertext=hover,
                hoverinfo="text",
                customdata=[links.get(key)] * rows.height if links else None,
            )
        )
    xaxis = _date_axis(ledger.get_column("period_start").unique().to_list())
    return go.Figure(data=traces, layout=_layout(title, "period starting", "times raised", xaxis=xaxis))


def figure_data(embedded: str) -> dict[str, Any]:
    """The figure back from ``to_embed`` (for tests and exports)."""
    value: dict[str, Any] = json.loads(embedded)
    return value
