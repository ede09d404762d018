"""Write bench/cfpb_taxonomy.toml from the CFPB's product and issue NAMES only (never a narrative).

One cause per (merged product, issue) name pair; its department is the product; its keywords are the content
word pairs of the issue name itself. Nothing is read from the complaint texts.

    python bench/make_cfpb_taxonomy.py [../shared/data/cfpb/complaints_sample.csv]
"""

from __future__ import annotations

import csv
import itertools
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from cfpb_products import department_slug, merged_product
from feedback.analysis.causes.features import surface_words

HERE = Path(__file__).parent
DEFAULT = HERE.parent.parent / "shared" / "data" / "cfpb" / "complaints_sample.csv"


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    with path.open(newline="", encoding="utf-8") as src:
        pairs = sorted({(merged_product(r["Product"]), r["Issue"]) for r in csv.DictReader(src)})
    lines = [
        "# CFPB issues as root causes, from the product and issue names only (bench/make_cfpb_taxonomy.py).",
        "",
    ]
    for product, issue in pairs:
        words = surface_words(issue)
        # Word pairs only: a single word ("account", "report") names no cause on its own.
        keywords = sorted({f"{a} {b}" for a, b in itertools.pairwise(words)})
        cause_id = f"{slug(product)[:20]}--{slug(issue)}"[:64].strip("-")
        lines += [
            "[[causes]]",
            f"id = {toml_string(cause_id)}",
            f"name = {toml_string(issue)}",
            f"department = {toml_string(department_slug(product))}",
            f"description = {toml_string(product)}",
            f"keywords = [{', '.join(toml_string(k) for k in keywords)}]",
            "",
        ]
    (HERE / "cfpb_taxonomy.toml").write_text("\n".join(lines), encoding="utf-8")
    print(f"{len(pairs)} causes written to {HERE / 'cfpb_taxonomy.toml'}")


if __name__ == "__main__":
    main()
