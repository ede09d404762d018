"""Reads are scoped and redacted inside the services: the web and command-line layers never narrow a
caller's view themselves (``caller.scope()``) nor redact (``privacy/exposure``), so a controller
cannot forget to. They pass the ``Caller`` and get data already fit to show."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "feedback"
EDGES = ("api.py", "pages.py", "views.py", "cli.py", "*_cli.py")  # each domain's routes, pages, commands


def edge_files() -> list[Path]:
    """The web app, the command line, and every domain's edges (README: "How it is built")."""
    files = [path for layer in ("web", "cli") for path in sorted((SRC / layer).rglob("*.py"))]
    for domain in sorted(p for p in SRC.iterdir() if (p / "__init__.py").exists()):
        if domain.name not in ("web", "cli", "analysis", "models", "demo"):
            files += [path for pattern in EDGES for path in sorted(domain.glob(pattern))]
    return files


def _violations(source: str) -> list[str]:
    """Where ``source`` scopes or redacts by itself: ``.scope()`` calls and any use of ``exposure``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "scope":
            found.append(f"line {line}: .scope()")
        elif isinstance(node, ast.Name) and node.id == "exposure":
            found.append(f"line {line}: exposure")
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            if any(n.startswith("feedback.privacy.exposure") for n in names):
                found.append(f"line {line}: imports exposure")
        elif isinstance(node, ast.Import) and any("privacy.exposure" in a.name for a in node.names):
            found.append(f"line {line}: imports exposure")
    return found


def test_the_check_finds_scoping_and_redaction_in_a_controller() -> None:
    controller = (
        "from feedback.privacy import exposure\n"
        "def get(session, caller):\n"
        "    rows = list_things(session, caller.scope())\n"
        "    return exposure.texts(caller, rows)\n"
    )
    assert _violations(controller) == [
        "line 1: imports exposure",
        "line 3: .scope()",
        "line 4: exposure",
    ]
    assert _violations("def get(request):\n    return request.scope\n") == []  # ASGI's scope is not it


def test_web_and_cli_leave_scoping_and_redaction_to_the_services() -> None:
    files = edge_files()
    assert len(files) > 40  # the edges are where this test thinks they are
    problems = {
        str(path.relative_to(SRC)): found
        for path in files
        if (found := _violations(path.read_text(encoding="utf-8")))
    }
    assert problems == {}, "scope and redact inside the service the controller calls"
