"""Charts for digests: Plotly figures (as JSON specs), rendered to PNG for e-mail in one batch.

Kaleido 1.x draws figures in a headless Chromium (BROWSER_PATH, else /usr/bin/chromium, else whatever it
finds). Starting the browser takes about 3 s, so every figure of a scheduler run (all the departments due
at once) is drawn by one browser. Kaleido reloads its page after every figure (about 0.2 s each); since its
page purges the plot after each image, the reload is done only every RELOAD_EVERY figures here, which makes
a figure about ten times cheaper. When kaleido changes that internal hook, the stock behaviour is used.

No blank charts: a chart without data is not drawn, an image that is not a PNG is dropped, and a renderer
that fails (no browser) returns the error, which the digest run records as a warning and the digest goes
out without images rather than not at all.
"""

from __future__ import annotations

import asyncio
import html
import os
import shutil
from collections.abc import Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from feedback.analysis.metrics import Period
from feedback.digests.content import Digest
from feedback.digests.numbers import Trend

WIDTH, HEIGHT, SCALE = 640, 280, 1.5
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
RELOAD_EVERY = 25
TABS = 2
MARK_COLORS = {"reopened": "#be123c", "overdue": "#b45309", "new": "#1d4ed8", "growing": "#7c3aed"}
FONT = {"family": "Helvetica, Arial, sans-serif", "size": 13, "color": "#111827"}


@dataclass(frozen=True)
class ChartSpec:
    cid: str  # the Content-ID (unique per message)
    title: str
    alt: str  # what the image shows, for screen readers and clients that block images
    figure: dict[str, Any]  # a Plotly figure as its JSON spec (data, layout): no validation cost per figure


@dataclass
class Rendered:
    images: dict[str, bytes] = field(default_factory=dict)  # cid -> PNG
    errors: dict[str, str] = field(default_factory=dict)  # cid -> why it is missing


def _axis(**extra: Any) -> dict[str, Any]:
    return {"gridcolor": "#e5e7eb", "linecolor": "#6b7280", "automargin": True, **extra}


def _layout(title: str, height: int = HEIGHT, **extra: Any) -> dict[str, Any]:
    return {
        "title": {"text": html.escape(title), "x": 0, "xanchor": "left", "font": {"size": 15}},
        "font": FONT,
        "width": WIDTH,
        "height": height,
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "margin": {"l": 10, "r": 10, "t": 44, "b": 10},
        "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 1, "xanchor": "right"},
        **extra,
    }


def trend_chart(digest: Digest, trend: Trend, cid: str) -> ChartSpec | None:
    """NPS per period (line) over responses (bars), with the department's NPS target."""
    if not any(v is not None for v in trend.nps) and not any(trend.volume):
        return None
    word = {Period.DAY: "day", Period.WEEK: "week", Period.MONTH: "month"}[trend.grain]
    x = [p.isoformat() for p in trend.periods]
    data: list[dict[str, Any]] = [
        {"type": "bar", "x": x, "y": trend.volume, "name": "responses", "yaxis": "y2", "opacity": 0.9,
         "marker": {"color": "#d1d5db"}},
        {"type": "scatter", "x": x, "y": trend.nps, "name": "NPS", "mode": "lines+markers",
         "line": {"color": "#1d4ed8", "width": 3}, "connectgaps": False},
    ]  # fmt: skip
    if trend.target is not None:
        data.append({"type": "scatter", "x": [x[0], x[-1]], "y": [trend.target, trend.target],
                     "name": "NPS target", "mode": "lines", "line": {"color": "#111827", "dash": "dash",
                     "width": 1.5}})  # fmt: skip
    scores = [v for v in [*trend.nps, trend.target] if v is not None]
    low, high = (min(scores), max(scores)) if scores else (-100.0, 100.0)
    middle, half = (low + high) / 2, max(15.0, (high - low) / 2 + 5)
    title = f"{digest.department_name}: NPS per {word}"
    layout = _layout(
        title,
        xaxis=_axis(title={"text": f"{word} starting" if trend.grain != Period.DAY else "day"}),
        yaxis=_axis(title={"text": "NPS"}, range=[max(-105.0, middle - half), min(105.0, middle + half)]),
        yaxis2=_axis(title={"text": "responses"}, overlaying="y", side="right", showgrid=False,
                     rangemode="tozero", tickformat=",d"),
    )  # fmt: skip
    values = [f"{p}: {v:+.0f}" for p, v in zip(x, trend.nps, strict=True) if v is not None]
    alt = f"NPS per {word} for the last {len(x)} {word}s: " + (", ".join(values[-6:]) or "no scores")
    if not values:  # a department that asks no NPS: its responses only, never an empty NPS axis
        title = f"{digest.department_name}: responses per {word}"
        counts = [f"{p}: {n:,}" for p, n in zip(x, trend.volume, strict=True)]
        alt = f"Responses per {word} for the last {len(x)} {word}s: " + ", ".join(counts[-6:])
        layout = _layout(
            title,
            xaxis=layout["xaxis"],
            yaxis=_axis(title={"text": "responses"}, rangemode="tozero", tickformat=",d"),
        )
        data = [{**data[0], "yaxis": "y"}]
    return ChartSpec(cid, title, alt, {"data": data, "layout": layout})


def causes_chart(digest: Digest, cid: str) -> ChartSpec | None:
    """The digest's items as bars of satisfaction points lost (or counts when no score was lost)."""
    items = digest.items
    if not items:
        return None
    use_points = any(i.points_lost is not None for i in items)
    names = [html.escape(i.name if len(i.name) <= 40 else i.name[:39] + "…") for i in items][::-1]
    values = [(i.points_lost or 0.0) if use_points else i.count for i in items][::-1]
    colors = [MARK_COLORS.get(i.marks[0], "#0e7490") if i.marks else "#0e7490" for i in items][::-1]
    labels = [f"{i.count:,} items" for i in items][::-1]
    metric = next((i.points_metric for i in items if i.points_metric), "nps").upper()
    title = f"What cost the most {metric} points" if use_points else "The most frequent problems"
    bar = {
        "type": "bar",
        "x": values,
        "y": names,
        "orientation": "h",
        "marker": {"color": colors},
        "text": labels,
        "textposition": "auto",
        "name": "points lost" if use_points else "items",
    }
    layout = _layout(
        title,
        height=max(180, 70 + 36 * len(items)),
        showlegend=False,
        xaxis=_axis(title={"text": f"{metric} points lost" if use_points else "items"}),
        yaxis=_axis(),
    )
    alt = "; ".join(
        f"{i.rank}. {i.name}: "
        + (f"{i.points_lost:.1f} points" if use_points and i.points_lost else f"{i.count}")
        for i in items
    )
    return ChartSpec(cid, title, alt, {"data": [bar], "layout": layout})


def digest_charts(digest: Digest, trend: Trend | None, prefix: str) -> list[ChartSpec]:
    """The charts of one digest; ``prefix`` makes their Content-IDs unique (e.g. the run id)."""
    specs = [
        trend_chart(digest, trend, f"trend-{prefix}@feedback") if trend is not None else None,
        causes_chart(digest, f"causes-{prefix}@feedback"),
    ]
    return [s for s in specs if s is not None]


# -- rendering -----------------------------------------------------------------------------------------------


def browser_path() -> str | None:
    """BROWSER_PATH, else Debian's Chromium, else None (kaleido then searches itself)."""
    configured = os.environ.get("BROWSER_PATH")
    if configured:
        return configured
    for candidate in ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"):
        if os.path.exists(candidate):
            return candidate
    return shutil.which("chromium")


def _kaleido_class() -> Any:
    import kaleido

    base: Any = kaleido.Kaleido
    if not hasattr(base, "_return_kaleido_tab"):
        return base

    class BatchKaleido(base):  # type: ignore[misc]
        """Reload a tab's page every RELOAD_EVERY figures instead of after each one."""

        _uses: dict[int, int]

        async def _return_kaleido_tab(self, tab: Any) -> None:
            uses = self.__dict__.setdefault("_uses", {})
            uses[id(tab)] = uses.get(id(tab), 0) + 1
            if uses[id(tab)] % RELOAD_EVERY == 0:
                await super()._return_kaleido_tab(tab)
            else:
                await self.tabs_ready.put(tab)

    return BatchKaleido


async def _render(specs: Sequence[ChartSpec]) -> list[bytes | BaseException]:
    options: dict[str, Any] = {"n": min(TABS, max(1, len(specs))), "mathjax": False, "timeout": 60}
    path = browser_path()
    if path:
        options["path"] = path
    opts = {"format": "png", "width": WIDTH, "scale": SCALE}
    async with _kaleido_class()(**options) as renderer:
        jobs = [
            renderer.calc_fig(s.figure, opts={**opts, "height": s.figure["layout"].get("height", HEIGHT)})
            for s in specs
        ]
        return list(await asyncio.gather(*jobs, return_exceptions=True))


def _run(coroutine: Coroutine[Any, Any, list[bytes | BaseException]]) -> list[bytes | BaseException]:
    """Run the coroutine on a fresh event loop, in another thread when this one already runs a loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def render_pngs(specs: Sequence[ChartSpec]) -> Rendered:
    """Every chart as PNG, with one browser start for the whole batch."""
    out = Rendered()
    if not specs:
        return out
    try:
        results = _run(_render(specs))
    except Exception as error:  # no browser, the browser crashed: every chart of the batch is missing
        reason = f"charts could not be drawn: {type(error).__name__}: {error}"[:500]
        out.errors = {s.cid: reason for s in specs}
        return out
    for spec, result in zip(specs, results, strict=True):
        if isinstance(result, BaseException):
            out.errors[spec.cid] = f"{spec.title}: {type(result).__name__}: {result}"[:500]
        elif not result.startswith(PNG_MAGIC) or len(result) < 1000:
            out.errors[spec.cid] = f"{spec.title}: the renderer returned no image"
        else:
            out.images[spec.cid] = result
    return out
