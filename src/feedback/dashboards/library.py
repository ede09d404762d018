"""Which dashboards exist: the files shipped in feedback.dashboards, then a company's own directory.

A company's file (FEEDBACK_DASHBOARDS_DIR) with the same name as a shipped one replaces it. Files are read
again when they change (their size and modification time), so adding a dashboard needs no restart.
A broken file never hides the others: it is reported as a problem (``feedback dashboards check``, and on
the dashboards page for admins).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from importlib.resources import as_file, files
from pathlib import Path

from feedback.dashboards.spec import DashboardSpec, read_dashboard
from feedback.errors import FieldError, InvalidInput, NotFound


@dataclass(frozen=True)
class Library:
    dashboards: dict[str, DashboardSpec]  # by name, in title order
    problems: list[FieldError]

    def get(self, name: str) -> DashboardSpec:
        spec = self.dashboards.get(name)
        if spec is None:
            raise NotFound(f"no dashboard {name!r}")
        return spec


def shipped_dir() -> Path:
    """The directory of the dashboards that come with the package (a real directory in any install)."""
    with as_file(files("feedback.dashboards.specs")) as path:
        return Path(path)


def dashboard_files(extra_dir: str | None = None) -> list[Path]:
    """Every dashboard file; a company's file replaces the shipped one with the same name."""
    found = {p.stem: p for p in sorted(shipped_dir().glob("*.toml"))}
    if extra_dir:
        directory = Path(extra_dir)
        if not directory.is_dir():
            raise InvalidInput.on("FEEDBACK_DASHBOARDS_DIR", f"{directory} is not a directory")
        found.update({p.stem: p for p in sorted(directory.glob("*.toml"))})
    return list(found.values())


_cache: dict[Path, tuple[tuple[int, int], DashboardSpec | InvalidInput]] = {}
_lock = threading.Lock()


def _read(path: Path) -> DashboardSpec | InvalidInput:
    try:
        stat = path.stat()
        stamp = (stat.st_mtime_ns, stat.st_size)
    except OSError as error:
        return InvalidInput.on(str(path), f"cannot read: {error}")
    with _lock:
        known = _cache.get(path)
        if known is not None and known[0] == stamp:
            return known[1]
    try:
        result: DashboardSpec | InvalidInput = read_dashboard(path)
    except InvalidInput as error:
        result = error
    with _lock:
        _cache[path] = (stamp, result)
    return result


def load_library(extra_dir: str | None = None) -> Library:
    """Every dashboard that loads, and every problem of those that don't."""
    problems: list[FieldError] = []
    try:
        paths = dashboard_files(extra_dir)
    except InvalidInput as error:
        problems.extend(error.errors)
        paths = dashboard_files(None)
    specs: list[DashboardSpec] = []
    for path in paths:
        result = _read(path)
        if isinstance(result, InvalidInput):
            problems.extend(result.errors)
        else:
            specs.append(result)
    specs.sort(key=lambda s: (s.title.lower(), s.name))
    return Library({s.name: s for s in specs}, problems)
