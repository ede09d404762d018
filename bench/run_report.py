"""The machine a run measured, the summary as Markdown, and its place in docs/benchmarks.md.

Only the text between BEGIN and END is generated; everything around it is written by people and kept as is.
"""

from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from run_plan import Row

BEGIN = "<!-- bench:begin -->"
END = "<!-- bench:end -->"
PG_BIN = Path(os.environ.get("FEEDBACK_PG_BIN", "/usr/lib/postgresql/15/bin"))


def _first_line(command: Sequence[str], cwd: Path | None = None) -> str:
    try:
        done = subprocess.run(list(command), capture_output=True, text=True, timeout=30, cwd=cwd)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return (done.stdout.strip() or done.stderr.strip()).split("\n", 1)[0]


def _proc_field(path: str, name: str) -> str:
    try:
        for line in Path(path).read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == name:
                return value.strip()
    except OSError:
        pass
    return "unknown"


def _os_name() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return platform.system()


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine(repo: Path, postgres_used: bool) -> dict[str, str]:
    """Facts about this machine and checkout, each as one line of text."""
    kib = _proc_field("/proc/meminfo", "MemTotal").split()[0]
    memory = f"{int(kib) / 2**20:.1f} GiB" if kib.isdigit() else "unknown"
    commit = _first_line(["git", "rev-parse", "HEAD"], repo) or "unknown"
    dirty = _first_line(["git", "status", "--porcelain", "--untracked-files=no"], repo)
    postgres = _first_line([str(PG_BIN / "postgres"), "--version"]) or "not installed"
    libraries = ", ".join(
        f"{name} {_version(name)}" for name in ("SQLAlchemy", "litestar", "uvicorn", "polars", "scikit-learn")
    )
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit + (" with uncommitted changes" if dirty else ""),
        "CPU": _proc_field("/proc/cpuinfo", "model name"),
        "cores": f"{os.cpu_count()} ({len(os.sched_getaffinity(0))} usable by this process)",
        "memory": memory,
        "OS": f"{_os_name()}, kernel {platform.release()}",
        "Python": platform.python_version(),
        "SQLite": sqlite3.sqlite_version,
        "PostgreSQL": postgres + ("" if postgres_used else " (not used: run with --postgres)"),
        "wrk": _first_line(["wrk", "-v"]) or "not installed",
        "Chromium": _first_line(["chromium", "--version"]) or "not installed",
        "libraries": libraries,
        "load average at start": "{:.2f} {:.2f} {:.2f} (1, 5, 15 min)".format(*os.getloadavg()),
    }


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def summary_table(rows: Sequence[Row]) -> str:
    lines = [
        "| benchmark | backend | size | figure | result | target | met? |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        verdict = r.verdict if r.verdict in ("met", "missed", "—") else f"**{r.verdict}**"
        cells = (r.benchmark, r.backend, r.size, r.figure, r.result, r.target, verdict)
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines)


def stage_table(stages: Sequence[tuple[str, str, float, float]]) -> str:
    """(label, status, seconds, timeout) per stage."""
    lines = ["| stage | status | seconds | timeout s |", "|---|---|---:|---:|"]
    for label, status, seconds, timeout in stages:
        lines.append(f"| {_cell(label)} | {status} | {seconds:.0f} | {timeout:.0f} |")
    return "\n".join(lines)


def section(
    command: str,
    facts: dict[str, str],
    rows: Sequence[Row],
    stages: Sequence[tuple[str, str, float, float]],
    total_seconds: float,
) -> str:
    """The generated part of docs/benchmarks.md, markers included."""
    machine_lines = "\n".join(f"| {name} | {_cell(value)} |" for name, value in facts.items())
    return "\n".join(
        [
            BEGIN,
            "<!-- Written by bench/run.py: everything up to bench:end is replaced on the next run. -->",
            "",
            f"Command: `{command}` ({total_seconds / 60:.1f} minutes).",
            "",
            "| machine | |",
            "|---|---|",
            machine_lines,
            "",
            'Targets are judged only at the size the issue names; "—" means no target at this size. '
            "A load average near or above 2 means other work shared the two cores and the figures are low.",
            "",
            summary_table(rows),
            "",
            "Stages of this run:",
            "",
            stage_table(stages),
            END,
        ]
    )


def replace_section(document: str, generated: str) -> str:
    """``document`` with the text between its markers (markers included) replaced by ``generated``."""
    start, end = document.find(BEGIN), document.find(END)
    if start < 0 or end < start or document.count(BEGIN) != 1 or document.count(END) != 1:
        raise ValueError(f"the document needs exactly one {BEGIN} followed by one {END}")
    return document[:start] + generated + document[end + len(END) :]


def write_section(path: Path, generated: str) -> None:
    """Rewrite the generated section of ``path``; a new file holds only that section."""
    if path.exists():
        path.write_text(replace_section(path.read_text(encoding="utf-8"), generated), encoding="utf-8")
    else:
        path.write_text("# Benchmarks\n\n" + generated + "\n", encoding="utf-8")
