"""The layout README promises: one folder per domain, imports in one direction, pure analysis.

- ``analysis/`` is pure: it imports no database, no tables, no web and no domain (``scales.py`` may build SQL
  expressions from the cut-offs with SQLAlchemy's core, but never opens a connection).
- ``models/`` holds the tables and imports no domain.
- The edges (``web/``, ``cli/``, each domain's ``api.py``, ``pages.py``, ``views.py``, ``*cli.py``) call the
  domains' services; a service never imports an edge, Litestar or Click.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "feedback"
DOMAINS = sorted(
    p.name
    for p in PACKAGE.iterdir()
    if p.is_dir()
    and (p / "__init__.py").exists()
    and p.name not in {"analysis", "models", "web", "cli", "db", "demo"}
)
EDGE_MODULES = {"api", "pages", "views", "cli"}


def imports_of(path: Path) -> set[str]:
    """Every module a file imports, absolute, with ``from x import y`` counted as both x and x.y."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_edge(module: str) -> bool:
    parts = module.split(".")
    if len(parts) > 1 and parts[1] in {"web", "cli"}:
        return True
    return (
        len(parts) > 2 and parts[1] in DOMAINS and (parts[-1] in EDGE_MODULES or parts[-1].endswith("_cli"))
    )


SOURCES = sorted(PACKAGE.rglob("*.py"))


def test_the_domains_are_folders_of_their_own() -> None:
    expected = {"accounts", "causes", "dashboards", "digests", "mentions", "metrics", "outcomes", "privacy"}
    assert expected <= set(DOMAINS), f"missing domain folders: {expected - set(DOMAINS)}"
    assert not (PACKAGE / "services").exists(), "services/ was split into the domains"


@pytest.mark.parametrize("path", [p for p in SOURCES if "analysis" in p.parts], ids=lambda p: module_name(p))
def test_analysis_is_pure(path: Path) -> None:
    allowed_feedback = ("feedback.analysis", "feedback.errors", "feedback.config")
    for name in imports_of(path):
        if name.startswith("feedback."):
            assert name.startswith(allowed_feedback), f"{module_name(path)} imports {name}"
        assert not name.startswith(("litestar", "click", "sqlalchemy.orm", "sqlalchemy.engine")), (
            f"{module_name(path)} imports {name}"
        )
        if name.startswith("sqlalchemy"):
            assert path.name == "scales.py", (
                f"{module_name(path)} imports {name}: only SQL expressions in scales.py"
            )


@pytest.mark.parametrize("path", [p for p in SOURCES if "models" in p.parts], ids=lambda p: module_name(p))
def test_models_import_no_domain(path: Path) -> None:
    for name in imports_of(path):
        if name.startswith("feedback."):
            top = name.split(".")[1]
            assert top in {"models", "analysis", "config", "errors"}, f"{module_name(path)} imports {name}"


@pytest.mark.parametrize(
    "path",
    [p for p in SOURCES if not is_edge(module_name(p)) and "demo" not in p.parts],
    ids=lambda p: module_name(p),
)
def test_services_never_import_an_edge(path: Path) -> None:
    for name in imports_of(path):
        assert not name.startswith(("litestar", "click")), f"{module_name(path)} imports {name}"
        if name.startswith("feedback."):
            assert not is_edge(name), f"{module_name(path)} (a service) imports {name} (an edge)"
