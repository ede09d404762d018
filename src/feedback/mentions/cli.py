"""Social listening: import mentions from files, poll feeds."""

from __future__ import annotations

import csv
import os
import sys
import time
from pathlib import Path

import click

from feedback.cli.common import open_sessions
from feedback.config import get_settings
from feedback.errors import FieldError, InvalidInput

AUTO_WORKERS_ABOVE_BYTES = 4 * 1024 * 1024  # smaller files are prepared in this process (no start-up cost)


@click.group()
def mentions() -> None:
    """Mentions of the company on social media, review sites and feeds."""


@mentions.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--source", help="where the mentions come from: twitter, reddit, appstore, cfpb, ...")
@click.option(
    "--map",
    "pairs",
    multiple=True,
    metavar="FIELD=COLUMN",
    help="our field from the file's column (repeat): text, source_id, posted_at, author, url, lang, "
    "followers, likes, shares, product, brand, repost",
)
@click.option(
    "--mapping",
    "mapping_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="a TOML file with a [map] table (and optionally source and format)",
)
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "jsonl"]), help="default: from the file's extension"
)
@click.option(
    "--rules",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="keyword/brand rules (default: FEEDBACK_MENTION_RULES_FILE)",
)
@click.option(
    "--workers", type=int, help="processes that normalize and score (default: all cores for big files)"
)
@click.option("--chunk-size", type=int, help="rows per transaction, one commit each (default 20,000)")
@click.option(
    "--rejects",
    "rejects_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="write every rejected row's line, field and reason to this CSV",
)
def mentions_import(
    file: Path,
    source: str | None,
    pairs: tuple[str, ...],
    mapping_file: Path | None,
    fmt: str | None,
    rules: Path | None,
    workers: int | None,
    chunk_size: int | None,
    rejects_path: Path | None,
) -> None:
    """Import mentions from a CSV or JSON Lines FILE, streamed; re-running it stores nothing twice.

    Rows without text are skipped and counted; rows with a bad value are reported with their line
    number and reason while the good rows are stored. Each chunk of rows is committed on its own, so
    an import that was stopped half-way can simply be run again.
    """
    from feedback.mentions import importer
    from feedback.mentions.rules import IngestOptions

    mapping: dict[str, str] = {}
    if mapping_file:
        mapping, extra = importer.read_mapping_file(mapping_file)
        source = source or extra.get("source")
        fmt = fmt or extra.get("format")
    mapping.update(importer.parse_mapping(pairs))
    if not source:
        raise InvalidInput.on("--source", "name the source (or set source in the mapping file)")
    settings = get_settings()
    options = IngestOptions.from_settings(settings, rules)
    size = file.stat().st_size
    if workers is None:
        workers = (os.cpu_count() or 1) if size > AUTO_WORKERS_ABOVE_BYTES else 0
    stream, records = importer.open_records(file, importer.file_format(file, fmt), mapping)
    rejects = rejects_path.open("w", newline="", encoding="utf-8") if rejects_path else None
    reject_writer = csv.writer(rejects) if rejects else None
    if reject_writer:
        reject_writer.writerow(["line", "field", "reason"])

    def on_reject(error: FieldError) -> None:
        if reject_writer:
            line, _, field = error.field.partition(": ")
            reject_writer.writerow([line.removeprefix("line "), field, error.message])

    started = time.perf_counter()
    try:
        with stream, click.progressbar(length=size, label=f"importing {file.name}", file=sys.stderr) as bar:
            done = 0

            def on_chunk(_report: object) -> None:
                nonlocal done
                position = importer.position(stream)
                bar.update(position - done)
                done = position

            report = importer.import_mentions(
                open_sessions(),
                records,
                options,
                source,
                chunk_size=chunk_size or importer.CHUNK_ROWS,
                workers=workers,
                on_chunk=on_chunk,
                on_reject=on_reject,
            )
    finally:
        if rejects:
            rejects.close()
    seconds = time.perf_counter() - started
    click.echo(
        f"{report.rows} rows: {report.stored} stored, {report.duplicates} already stored, "
        f"{report.skipped_blank} skipped (no text), {report.rejected} rejected "
        f"in {seconds:.1f}s ({report.rows / max(seconds, 1e-9):,.0f} rows/s)"
    )
    for item in report.errors[:50]:
        click.echo(f"  {item.field}: {item.message}", err=True)
    if report.rejected > 50 or len(report.errors) > 50:
        more = f"; every one in {rejects_path}" if rejects_path else "; --rejects FILE lists every one"
        click.echo(f"  ... {report.rejected} rejected rows in all{more}", err=True)


@mentions.command("poll")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="the pollers file (default: FEEDBACK_POLLERS_FILE)",
)
def mentions_poll(config_path: Path | None) -> None:
    """Poll every configured RSS/Atom feed and Mastodon timeline once, each from where it stopped."""
    from feedback.mentions.pollers import http_client, load_config, poll_all
    from feedback.mentions.rules import IngestOptions
    from feedback.models import utcnow

    settings = get_settings()
    path = config_path or settings.pollers_file
    if not path:
        raise InvalidInput.on("--config", "give a pollers file (or set FEEDBACK_POLLERS_FILE)")
    config = load_config(path, IngestOptions.from_settings(settings))
    with http_client() as client:
        results = poll_all(open_sessions(), config, client, utcnow())
    for result in results:
        line = f"{result.key}: {result.status}, {result.stored} stored, {result.duplicates} already stored"
        if result.rejected:
            line += f", {result.rejected} rejected"
        click.echo(line + (f" ({result.error})" if result.error else ""))
    if any(r.status == "error" for r in results):
        sys.exit(1)


COMMANDS = [mentions]
