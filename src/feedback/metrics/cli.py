"""Metrics, drivers and targets on the command line: tables a person can read, or CSV/Parquet files."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from feedback.cli.common import open_sessions
from feedback.config import get_settings
from feedback.db import transaction
from feedback.errors import InvalidInput
from feedback.models.context import CONTEXT_TEXT_FIELDS

if TYPE_CHECKING:  # Polars loads in the commands that use it, not in `feedback --help`
    import polars as pl

# metrics/service.py's DIMENSIONS (not imported here: it loads Polars).
_FILTERS = ("department", *CONTEXT_TEXT_FIELDS, "survey", "source")


def _filter_options(func: Any) -> Any:
    for name in reversed(_FILTERS):
        func = click.option(f"--{name}", help=f"only these {name} values (comma-separated)")(func)
    return func


def _window_options(func: Any) -> Any:
    func = click.option(
        "--min-n", type=int, help="smaller samples are flagged (default FEEDBACK_METRICS_MIN_N)"
    )(func)
    func = click.option("--until", help="end (exclusive), ISO date or time; default now")(func)
    func = click.option("--since", help="start, ISO date or time; default 90 days before --until")(func)
    return click.option(
        "--tz", default="UTC", show_default=True, help="time zone of periods and plain dates"
    )(func)


def _fmt(metric: str, value: float | None, signed: bool = False) -> str:
    if value is None:
        return "-"
    if metric in ("volume", "mention_volume"):
        return f"{value:+,.0f}" if signed else f"{value:,.0f}"
    if metric == "nps":
        return f"{value:+.0f}"
    if metric in ("ces", "sentiment", "mention_sentiment"):
        return f"{value:+.2f}" if signed or metric != "ces" else f"{value:.2f}"
    return f"{value:+.1f}" if signed else f"{value:.1f}"


def _print_table(headers: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    click.echo("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    for row in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def print_metrics(table: pl.DataFrame, order: list[str], by: list[str], has_period: bool, min_n: int) -> None:
    import polars as pl

    from feedback.analysis.metrics import METRICS

    if table.height == 0:
        click.echo("no data in this window")
        return
    present = set(table["metric"].to_list())
    for metric in [m for m in order if m in present]:
        part = table.filter(pl.col("metric") == metric)
        click.echo(f"\n{METRICS[metric].label}")
        headers = (["period"] if has_period else []) + by + ["value", "95% interval", "n", "change", "target"]
        rows = []
        for r in part.iter_rows(named=True):
            mark = "*" if r["small_sample"] else ""
            interval = "" if r["low"] is None else f"{_fmt(metric, r['low'])} .. {_fmt(metric, r['high'])}"
            target = (
                ""
                if r["target"] is None
                else (f"{_fmt(metric, r['target'])} ({'met' if r['target_met'] else 'missed'})")
            )
            rows.append(
                ([str(r["period"])] if has_period else [])
                + [str(r[name]) if r[name] is not None else "(none)" for name in by]
                + [
                    _fmt(metric, r["value"]) + mark,
                    interval,
                    f"{r['n']:,}",
                    _fmt(metric, r["change"], True),
                    target,
                ]
            )
        _print_table(headers, rows)
    if table["small_sample"].any():
        click.echo(f"\n* fewer than {min_n} answers: too few to trust")


def write_output(table: pl.DataFrame, output: Path) -> None:
    suffix = output.suffix.lower()
    if suffix == ".csv":
        table.write_csv(output)
    elif suffix == ".parquet":
        table.write_parquet(output)
    else:
        raise InvalidInput.on("output", "the file name must end in .csv or .parquet")


@click.group()
def metrics() -> None:
    """Satisfaction metrics (NPS, CSAT, CES, FCR, response rate, volume, sentiment) and their drivers."""


@metrics.command("show")
@click.option(
    "--metric",
    "metric_names",
    default="all",
    show_default=True,
    help="comma-separated: nps, csat, ces, ces_easy, dissatisfied, fcr, response_rate, volume, sentiment, "
    "mention_volume, mention_sentiment",
)
@click.option(
    "--by",
    default="",
    help=f"comma-separated dimensions: {', '.join(_FILTERS)}",
)
@click.option(
    "--period", type=click.Choice(["day", "week", "month", "none"]), default="none", show_default=True
)
@_window_options
@_filter_options
@click.option(
    "--output", type=click.Path(dir_okay=False, path_type=Path), help="write FILE.csv or FILE.parquet"
)
def metrics_show(
    metric_names: str,
    by: str,
    period: str,
    tz: str,
    since: str | None,
    until: str | None,
    min_n: int | None,
    output: Path | None,
    **filters: str | None,
) -> None:
    """Print metrics by period and dimension, each with n, its 95% interval, change and target."""
    from feedback.metrics.service import (
        MetricsQuery,
        compute_metrics,
        parse_by,
        parse_filters,
        parse_metrics,
        parse_period,
        parse_time,
        parse_tz,
    )

    settings = get_settings()
    query = MetricsQuery(
        metrics=parse_metrics(metric_names),
        by=parse_by(by),
        period=parse_period(period),
        tz=parse_tz(tz),
        since=parse_time(since, "since"),
        until=parse_time(until, "until"),
        filters=parse_filters(filters),
        min_n=min_n or settings.metrics_min_n,
    )
    with transaction(open_sessions()) as session:
        result = compute_metrics(session, query)
    if output is not None:
        write_output(result.table, output)
        click.echo(f"{result.table.height} rows written to {output}")
        return
    click.echo(f"{result.since:%Y-%m-%d %H:%M} .. {result.until:%Y-%m-%d %H:%M} ({query.tz})")
    print_metrics(result.table, list(query.metrics), list(query.by), query.period is not None, query.min_n)


@metrics.command("drivers")
@click.option(
    "--metric",
    "metric_name",
    default="nps",
    show_default=True,
    type=click.Choice(["nps", "csat", "ces", "ces_easy", "sentiment"]),
)
@click.option(
    "--driver",
    default="handle_time",
    show_default=True,
    type=click.Choice(["handle_time", "wait_time", "first_contact_resolved", "channel"]),
)
@click.option("--bands", default="", help="band limits in minutes, e.g. 3,6,10 (default per driver)")
@_window_options
@_filter_options
def metrics_drivers(
    metric_name: str,
    driver: str,
    bands: str,
    tz: str,
    since: str | None,
    until: str | None,
    min_n: int | None,
    **filters: str | None,
) -> None:
    """How a metric moves with handle time, wait time, first-contact resolution or channel."""
    from feedback.metrics.service import DriversQuery, compute_drivers, parse_filters, parse_time, parse_tz

    try:
        cuts = tuple(float(b) for b in bands.split(",") if b.strip())
    except ValueError:
        raise InvalidInput.on("bands", "expected minutes separated by commas, e.g. 3,6,10") from None
    query = DriversQuery(
        metric=metric_name,
        driver=driver,
        bands=cuts,
        tz=parse_tz(tz),
        since=parse_time(since, "since"),
        until=parse_time(until, "until"),
        filters=parse_filters({k: v for k, v in filters.items() if k != "source"}),
        min_n=min_n or get_settings().metrics_min_n,
    )
    with transaction(open_sessions()) as session:
        result = compute_drivers(session, query)
    rows = [
        [
            g.label,
            _fmt(metric_name, g.value) + ("*" if g.small_sample else ""),
            "" if g.low is None else f"{_fmt(metric_name, g.low)} .. {_fmt(metric_name, g.high)}",
            f"{g.n:,}",
            _fmt(metric_name, g.difference, True),
        ]
        for g in result.groups
    ]
    _print_table([driver.replace("_", " "), metric_name, "95% interval", "n", "vs. the rest"], rows)
    if result.correlation is not None:
        c = result.correlation
        interval = "" if c.low is None else f", 95% interval {c.low:+.2f} .. {c.high:+.2f}"
        click.echo(f"\ncorrelation ({c.method}): {c.r:+.2f}{interval}, n={c.n:,}")
    click.echo("")
    for line in result.readings:
        click.echo(f"- {line}")


@click.group()
def targets() -> None:
    """Metric targets per department or contractor."""


@targets.command("set")
@click.argument(
    "metric", type=click.Choice(["nps", "csat", "ces", "ces_easy", "fcr", "response_rate", "sentiment"])
)
@click.argument("dimension", type=click.Choice(["department", "contractor"]))
@click.argument("value")
@click.argument("target", type=float)
def targets_set(metric: str, dimension: str, value: str, target: float) -> None:
    """Set the TARGET for METRIC of a department (its slug) or contractor (its name)."""
    from feedback.specs import convert
    from feedback.targets.service import TargetSpec, set_target

    spec = convert({"metric": metric, "dimension": dimension, "value": value, "target": target}, TargetSpec)
    with transaction(open_sessions()) as session:
        saved = set_target(session, spec)
    click.echo(f"target {saved.metric} for {saved.dimension} {saved.value}: {saved.target:g}")


@targets.command("list")
def targets_list() -> None:
    """List every target."""
    from feedback.targets.service import list_targets

    with transaction(open_sessions()) as session:
        rows = list_targets(session)
    _print_table(
        ["metric", "dimension", "value", "target"],
        [[r.metric, r.dimension, r.value, f"{r.target:g}"] for r in rows],
    )


@targets.command("delete")
@click.argument("metric")
@click.argument("dimension")
@click.argument("value")
def targets_delete(metric: str, dimension: str, value: str) -> None:
    """Delete a target."""
    from feedback.targets.service import delete_target

    with transaction(open_sessions()) as session:
        delete_target(session, metric, dimension, value)
    click.echo("target deleted")


COMMANDS = [metrics, targets]


@metrics.command("rebuild")
@click.option("--since", help="only days from this date (UTC, ISO date); default every day")
def metrics_rebuild(since: str | None) -> None:
    """Recount the daily rollups that metrics and dashboards read, from the stored rows.

    Every write through feedback keeps them up to date; run this after loading rows around it (SQL, a
    restored backup) or after changing stored scores by hand.
    """
    from datetime import UTC, datetime, timedelta

    from feedback.metrics import rollups
    from feedback.metrics.service import parse_time

    first = parse_time(since, "since")
    days = None
    if first is not None:
        start = (first if first.tzinfo else first.replace(tzinfo=UTC)).astimezone(UTC).date()
        today = datetime.now(UTC).date()
        days = [start + timedelta(days=i) for i in range((today - start).days + 1)]
    with transaction(open_sessions()) as session:
        rollups.rebuild(session.connection(), days)
    click.echo("daily rollups recounted" + (f" from {days[0]}" if days else " for every day"))
