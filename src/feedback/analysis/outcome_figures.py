"""The chart of "Does satisfaction pay?": the outcome by score band with 95% intervals."""

from __future__ import annotations

import plotly.graph_objects as go  # type: ignore[import-untyped, unused-ignore]
import polars as pl

from feedback.analysis.figures import COLORS, _layout, safe


def outcomes_figure(frame: pl.DataFrame, title: str) -> go.Figure:
    """Bars per band (``kind == "band"``) with their intervals as error bars."""
    bands = frame.filter(pl.col("kind") == "band")
    values = bands["value"].to_list()
    hover = [
        f"<b>{safe(r['group'])}</b><br>{r['value']:.2f} [{r['low']:.2f}, {r['high']:.2f}]<br>n {r['n']:,}"
        for r in bands.iter_rows(named=True)
    ]
    bar = go.Bar(
        x=[safe(g) for g in bands["group"].to_list()],
        y=values,
        marker={"color": COLORS[0]},
        error_y={
            "type": "data",
            "symmetric": False,
            "array": [h - v for h, v in zip(bands["high"].to_list(), values, strict=True)],
            "arrayminus": [v - lo for v, lo in zip(values, bands["low"].to_list(), strict=True)],
        },
        hovertext=hover,
        hoverinfo="text",
        text=[f"n {n:,}" for n in bands["n"].to_list()],
        textposition="auto",
    )
    return go.Figure(data=[bar], layout=_layout(title, "score band", "outcome (%, or mean amount)"))
