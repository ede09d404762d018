"""Root causes: CSV in and out without a database, the taxonomy, and `feedback analyze`."""

from __future__ import annotations

import csv
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from feedback.cli.common import open_sessions
from feedback.config import get_settings
from feedback.db import transaction
from feedback.errors import InvalidInput

ENGINE = click.option(
    "--engine",
    type=click.Choice(["auto", "default", "embeddings"]),
    default=None,
    help="text engine (default: FEEDBACK_CAUSES_ENGINE, else auto: embeddings when installed)",
)


def discovery_options(command: Callable[..., None]) -> Callable[..., None]:
    """The discovery knobs (default: the FEEDBACK_CAUSES_* settings; see analysis/causes/discover.py)."""
    options = [
        click.option("--min-size", type=int, default=None, help="items a cluster needs to count as repeated"),
        click.option("--neighbours", type=int, default=None, help="k of the k-nearest-neighbour graph"),
        click.option(
            "--resolution", type=float, default=None,
            help="fixed Leiden resolution (more: smaller clusters); default: chosen from the data per run",
        ),
        click.option(
            "--tolerance", type=float, default=None,
            help="automatic resolution: the coarsest within this share of the best silhouette"
            " (0.1; embeddings 0)",
        ),
        click.option(
            "--scan-size", type=int, default=None,
            help="automatic resolution: texts (a fixed sample) each resolution is tried on (2000)",
        ),
        click.option(
            "--margin", type=float, default=None,
            help="a text stays in its cluster when this much closer to it than to any other (-0.05)",
        ),
        click.option(
            "--second-order/--first-order", default=None,
            help="link texts by their similarity profiles (default: the default engine does, embeddings not)",
        ),
    ]  # fmt: skip
    for option in reversed(options):
        command = option(command)
    return command


def _knobs(**given: float | bool | None) -> dict[str, Any]:
    return {k: v for k, v in given.items() if v is not None}


def _read_csv(path: Path, text_column: str) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="", encoding="utf-8-sig") as src:
        reader = csv.DictReader(src)
        fields = list(reader.fieldnames or [])
        if text_column not in fields:
            raise InvalidInput.on(
                "--text-column", f"{path} has no column {text_column!r} (it has {', '.join(fields)})"
            )
        return fields, list(reader)


def _write_csv(path: Path, fields: list[str], rows: list[dict[str, str]]) -> None:
    """Write ``rows`` to ``path`` atomically (a half-written file never replaces a good one)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent or Path("."), prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as out:
            writer = csv.DictWriter(out, fieldnames=fields, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def _engine(name: str | None) -> object:
    from feedback.analysis.causes.engines import pick_engine

    return pick_engine(name or get_settings().causes_engine)


@click.group()
def causes() -> None:
    """Root causes: find repeated problems in CSV files, manage the taxonomy."""


@causes.command("discover")
@click.option(
    "--input", "input_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--text-column", required=True, help="the column with the feedback text")
@click.option("--output", "output_path", required=True, type=click.Path(dir_okay=False, path_type=Path))
@ENGINE
@discovery_options
def causes_discover(
    input_path: Path, text_column: str, output_path: Path, engine: str | None, **knobs: float | bool | None
) -> None:
    """Group the texts of a CSV into repeated causes: adds cause_id and cause_label (empty: none)."""
    from feedback.analysis.causes.pipeline import run_batch
    from feedback.causes.analyze import AnalyzeOptions

    started = time.perf_counter()
    fields, rows = _read_csv(input_path, text_column)
    texts = [row.get(text_column) or "" for row in rows]
    filled = [i for i, t in enumerate(texts) if t.strip()]
    chosen = _engine(engine)
    params = AnalyzeOptions.from_settings(get_settings(), **_knobs(**knobs)).cause_params()
    result = run_batch([texts[i] for i in filled], [], chosen, params)  # type: ignore[arg-type]
    for row in rows:
        row["cause_id"] = row["cause_label"] = ""
    for cluster in result.clusters:
        for position in cluster.rows.tolist():
            row = rows[filled[position]]
            row["cause_id"] = f"cluster-{cluster.number + 1}"
            row["cause_label"] = cluster.label
    _write_csv(output_path, [*fields, "cause_id", "cause_label"], rows)
    clustered = sum(c.size for c in result.clusters)
    click.echo(
        f"{len(rows)} rows, {len(result.clusters)} repeated causes covering {clustered} rows; "
        f"{result.unexplained} texts fit no repeated cause "
        f"({result.engine} engine, {time.perf_counter() - started:.1f}s); written to {output_path}"
    )


@causes.command("assign")
@click.option(
    "--taxonomy", "taxonomy_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--input", "input_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--text-column", required=True, help="the column with the feedback text")
@click.option("--output", "output_path", required=True, type=click.Path(dir_okay=False, path_type=Path))
@ENGINE
@click.option("--threshold", type=float, default=None, help="confidence needed (default: the engine's)")
def causes_assign(
    taxonomy_path: Path, input_path: Path, text_column: str, output_path: Path, engine: str | None,
    threshold: float | None,
) -> None:  # fmt: skip
    """Assign the texts of a CSV to a taxonomy's causes: adds cause_id, department and confidence."""
    from feedback.analysis.causes.pipeline import CauseParams, run_batch
    from feedback.analysis.causes.taxonomy import read_taxonomy

    started = time.perf_counter()
    taxonomy = read_taxonomy(taxonomy_path)
    fields, rows = _read_csv(input_path, text_column)
    texts = [row.get(text_column) or "" for row in rows]
    filled = [i for i, t in enumerate(texts) if t.strip()]
    params = CauseParams(
        assign_threshold=threshold if threshold is not None else get_settings().causes_assign_threshold
    )
    chosen = _engine(engine)
    result = run_batch([texts[i] for i in filled], taxonomy.causes, chosen, params, discover=False)  # type: ignore[arg-type]
    for row in rows:
        row["cause_id"] = row["department"] = row["confidence"] = ""
    assigned = 0
    for position, i in enumerate(filled):
        cause = int(result.assignment.cause[position])
        rows[i]["confidence"] = f"{float(result.assignment.confidence[position]):.4f}"
        if cause >= 0:
            spec = taxonomy.causes[cause]
            rows[i]["cause_id"] = spec.id
            rows[i]["department"] = spec.department or ""
            assigned += 1
    extra = [c for c in ("cause_id", "department", "confidence") if c not in fields]
    _write_csv(output_path, [*fields, *extra], rows)
    click.echo(
        f"{len(rows)} rows, {assigned} assigned to {len(taxonomy.causes)} known causes "
        f"({result.engine} engine, {time.perf_counter() - started:.1f}s); written to {output_path}"
    )


@causes.group("taxonomy")
def taxonomy() -> None:
    """The taxonomy of known causes."""


@taxonomy.command("load")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def taxonomy_load(file: Path) -> None:
    """Create or update the causes of a taxonomy TOML file (all or none)."""
    from feedback.analysis.causes.taxonomy import read_taxonomy
    from feedback.causes.taxonomy import load_taxonomy

    spec = read_taxonomy(file)
    with transaction(open_sessions()) as session:
        report = load_taxonomy(session, spec, actor="cli")
    click.echo(f"{file}: {report.created} created, {report.updated} updated, {report.unchanged} unchanged")


@click.command("analyze")
@ENGINE
@click.option("--period", type=click.Choice(["week", "month"]), default=None, help="ledger period")
@click.option("--since", type=click.DateTime(), default=None, help="only feedback from this date (UTC)")
@discovery_options
@click.option(
    "--progress/--no-progress",
    "bars",
    default=None,
    help="progress bars on stderr (default: when stderr is a terminal; else one line per stage)",
)
def analyze(
    engine: str | None, period: str | None, since: object, bars: bool | None, **knobs: float | bool | None
) -> None:
    """Find the root causes in all feedback and store them (safe to re-run; a failed run changes nothing)."""
    from datetime import UTC, datetime

    from feedback.causes.analyze import AnalyzeOptions
    from feedback.causes.analyze import analyze as run_analysis
    from feedback.causes.query import unexplained_sentence
    from feedback.cli.progress import StageBars, StageLines

    start = since.replace(tzinfo=UTC) if isinstance(since, datetime) else None
    options = AnalyzeOptions.from_settings(
        get_settings(), engine=engine, period=period, since=start, **_knobs(**knobs)
    )
    interactive = sys.stderr.isatty() if bars is None else bars
    if interactive:
        click.echo("analyzing feedback (Ctrl-C is safe: the last complete results stay)", err=True)
        with StageBars() as progress:
            summary = run_analysis(open_sessions(), options, progress)
    else:
        summary = run_analysis(open_sessions(), options, StageLines())
    changes = ", ".join(f"{n:,} {kind}" for kind, n in sorted(summary.changes.items())) or "no changes"
    resolution = f", resolution {summary.resolution:.2g}" if summary.resolution else ""
    click.echo(
        f"run {summary.run_id} complete ({summary.engine} engine{resolution}, {summary.seconds:,.1f}s): "
        f"{summary.items_total:,} feedback, {summary.items_negative:,} negative texts, "
        f"{summary.items_assigned:,} assigned to known causes, {summary.items_clustered:,} in repeated "
        f"clusters, {summary.causes_seen:,} causes seen; {changes}\n"
        f"{unexplained_sentence(summary.items_unexplained, summary.coverage)}"
    )


COMMANDS = [causes, analyze]
