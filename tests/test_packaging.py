"""What an installed `feedback` needs is shipped: every package, the templates, the migrations."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_is_listed_in_pyproject() -> None:
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {
        ".".join(p.parent.relative_to(ROOT / "src").parts)
        for p in (ROOT / "src" / "feedback").rglob("__init__.py")
    } | {"feedback.migrations"}
    assert found - listed == set(), "add these packages to [tool.setuptools] packages in pyproject.toml"


def test_migrations_ship_inside_the_package() -> None:
    from importlib.resources import files

    versions = files("feedback.migrations") / "versions"
    assert any(p.name.endswith(".py") for p in versions.iterdir())
    assert (files("feedback.web") / "templates" / "survey.html").is_file()


def test_a_built_wheel_carries_the_compiled_message_catalogues(tmp_path: Path) -> None:
    """The survey pages' translations reach an installed feedback: the .mo files are package data."""
    import subprocess
    import sys
    import zipfile

    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    [wheel] = tmp_path.glob("feedback-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for language in ("pt", "de"):
        assert f"feedback/locale/{language}/LC_MESSAGES/messages.mo" in names
