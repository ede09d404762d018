"""Outcomes: import what customers did (orders, renewals, cancellations) and see whether satisfaction pays."""

from __future__ import annotations

import json
from pathlib import Path

import click

from feedback.cli.common import open_sessions
from feedback.config import get_settings
from feedback.db import make_engine


@click.group()
def outcomes() -> None:
    """Customer outcomes and "Does satisfaction pay?"."""


def print_report(report: object) -> None:
    from feedback.outcomes.importer import ImportReport

    assert isinstance(report, ImportReport)
    click.echo(
        f"rows {report.rows:,}  stored {report.stored:,}  already stored {report.duplicates:,}  "
        f"rejected {report.rejected:,}"
    )
    for error in report.errors[:50]:
        click.echo(f"  {error.field}: {error.message}", err=True)


@outcomes.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--source", default="import", show_default=True, help="where the events come from (crm, shop)")
@click.option("--map", "pairs", multiple=True, help="FIELD=COLUMN: read a field from another column")
@click.option("--kind", help="every row's kind when the file has no kind column (order, renewal, ...)")
@click.option("--identities", is_flag=True, help="the file is an identity map: customer_id, person_id")
@click.option("--skip-invalid", is_flag=True, help="store the good rows and report the others")
def import_file(
    file: Path, source: str, pairs: tuple[str, ...], kind: str | None, identities: bool, skip_invalid: bool
) -> None:
    """Import outcome events (customer_id, occurred_at, kind, amount, currency, reference) from CSV or
    Parquet; importing again stores nothing new."""
    from feedback.outcomes.events import EVENT_FIELDS, IDENTITY_FIELDS
    from feedback.outcomes.importer import import_events, import_identities, parse_mapping

    sessions = open_sessions()
    if identities:
        mapping = parse_mapping(pairs, IDENTITY_FIELDS)
        print_report(import_identities(sessions, file, mapping=mapping, skip_invalid=skip_invalid))
    else:
        mapping = parse_mapping(pairs, EVENT_FIELDS)
        report = import_events(
            sessions, file, source=source, mapping=mapping, kind=kind, skip_invalid=skip_invalid
        )
        print_report(report)


@outcomes.command("show")
@click.option("--scale", type=click.Choice(["csat", "nps", "ces"]), default="csat", show_default=True)
@click.option(
    "--outcome",
    type=click.Choice(["repeat_purchase", "spend", "orders", "renewal", "churn"]),
    default="repeat_purchase",
    show_default=True,
)
@click.option("--horizon-days", type=click.IntRange(min=1), default=90, show_default=True)
@click.option("--top", help="scores of the satisfied group (default: the scale's top band, CSAT 4,5)")
@click.option("--bottom", help="scores of the dissatisfied group (default: CSAT 1,2)")
@click.option("--control", "controls", multiple=True, help="a context field to control for (repeatable)")
@click.option("--json", "as_json", is_flag=True, help="print the result as JSON")
def show(
    scale: str,
    outcome: str,
    horizon_days: int,
    top: str | None,
    bottom: str | None,
    controls: tuple[str, ...],
    as_json: bool,
) -> None:
    """Does satisfaction pay? The outcome by score band and the adjusted difference, with its verdict."""
    from feedback.analysis.outcomes import OUTCOMES
    from feedback.outcomes.report import parse_scores, satisfaction_pays

    engine = make_engine(get_settings().database_url)
    report = satisfaction_pays(
        engine,
        scale=scale,
        outcome=outcome,  # type: ignore[arg-type]
        horizon_days=horizon_days,
        top=parse_scores(top, "--top") if top else None,
        bottom=parse_scores(bottom, "--bottom") if bottom else None,
        controls=controls,
    )
    if as_json:
        click.echo(json.dumps(report.as_dict(), default=str, indent=2))
        return
    unit = "%" if outcome in ("repeat_purchase", "renewal", "churn") else ""
    label = OUTCOMES[outcome]
    cov = report.coverage
    click.echo(f"Does satisfaction pay? {label} within {horizon_days} days of answering ({scale})")
    click.echo(
        f"coverage: {cov.responses:,} responses of known customers up to the last outcome event, "
        f"{cov.linked:,} with outcome events, "
        f"{cov.complete:,} with a complete horizon"
    )
    for row in report.bands:
        click.echo(f"  {row.band:<14} n {row.n:>8,}  {row.value:8.2f}{unit}  [{row.low:.2f}, {row.high:.2f}]")
    effect = report.effect
    if effect is None:
        click.echo("verdict: too little data")
        return
    group = f"{','.join(map(str, report.top))} minus {','.join(map(str, report.bottom))}"
    points = " pp" if unit else ""
    for name, estimate in (("naive", effect.naive), ("adjusted", effect.adjusted)):
        if estimate is not None:
            interval = f"[{estimate.low:+.2f}, {estimate.high:+.2f}]"
            click.echo(f"{name:<9} {group}: {estimate.value:+.2f}{points} {interval}")
    if effect.mde is not None:
        click.echo(f"smallest detectable difference: {effect.mde:.2f}{points}")
    click.echo(f"controls: {', '.join(effect.controls) or 'none'}")
    for note in effect.notes:
        click.echo(f"note: {note}")
    click.echo(f"verdict: {effect.verdict}")


@outcomes.command("drivers")
@click.option("--field", "field_name", required=True, help="a numeric company context field, e.g. days_late")
@click.option("--bands", required=True, help="band edges, e.g. 0,3,7,14 (upper bounds included)")
@click.option("--scale", type=click.Choice(["csat", "nps", "ces"]), default="csat", show_default=True)
def drivers(field_name: str, bands: str, scale: str) -> None:
    """The score by bands of an operational field, each band against the first, with 95% intervals."""
    from feedback.outcomes.report import field_drivers, parse_edges

    engine = make_engine(get_settings().database_url)
    result = field_drivers(engine, scale=scale, field_name=field_name, edges=parse_edges(bands))
    click.echo(f"mean {scale} by {field_name}")
    for band in result.bands:
        diff = band.diff
        against = f"  {diff.value:+.2f} [{diff.low:+.2f}, {diff.high:+.2f}] vs first" if diff else ""
        click.echo(
            f"  {band.label:<10} n {band.n:>7,}  {band.mean:.2f} [{band.low:.2f}, {band.high:.2f}]  "
            f"low scores {band.share_low:.1f}%{against}"
        )
    if result.contrast is not None:
        c = result.contrast
        click.echo(f"all later bands minus the first: {c.value:+.2f} [{c.low:+.2f}, {c.high:+.2f}]")
    click.echo(f"verdict: {result.verdict}")


@outcomes.command("causes")
@click.option("--value", "value", type=float, default=1.0, show_default=True, help="the value of one outcome")
@click.option("--scale", type=click.Choice(["csat", "nps", "ces"]), default="csat", show_default=True)
@click.option("--horizon-days", type=click.IntRange(min=1), default=90, show_default=True)
def causes(value: float, scale: str, horizon_days: int) -> None:
    """Revenue at risk per root cause: its customers x their adjusted gap to satisfied ones x --value."""
    from feedback.outcomes.report import revenue_by_cause

    engine = make_engine(get_settings().database_url)
    risks = revenue_by_cause(engine, scale=scale, horizon_days=horizon_days, value_per_outcome=value)
    if not risks:
        click.echo("no causes with outcomes yet (run `feedback analyze` and import outcomes)")
    for risk in risks:
        rank = f"#{risk.rank}" if risk.rank else "  -"
        if risk.at_risk is None or risk.low is None or risk.high is None:
            click.echo(f"{rank} {risk.cause}: {risk.customers:,} customers; {risk.gap.verdict}")
            continue
        click.echo(
            f"{rank} {risk.cause}: {risk.customers:,} customers, at risk {risk.at_risk:,.0f} "
            f"[{risk.low:,.0f}, {risk.high:,.0f}]"
            + ("" if risk.rank else f"  ({risk.gap.verdict}: not ranked)")
        )


COMMANDS = [outcomes]
