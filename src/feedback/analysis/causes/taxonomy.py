"""The taxonomy file: the root causes a company already knows, each with an owning department.

```toml
[[causes]]
id = "late-delivery"                      # lowercase letters, digits, - and _; stays the cause's id
name = "Late delivery"
department = "logistics"                  # the owner: a department's slug
description = "Parcels that arrive after the promised date."
keywords = ["late", "delayed", "still waiting", "tracking"]
examples = ["my parcel came a week after the date you promised"]
```
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from feedback.analysis.text import control_character_error
from feedback.errors import FieldError, InvalidInput

CAUSE_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


@dataclass(frozen=True)
class CauseSpec:
    """One known root cause as a taxonomy file (or the API) describes it."""

    id: str
    name: str
    department: str | None = None
    description: str = ""
    keywords: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()

    def documents(self) -> list[str]:
        """The texts that describe this cause, for matching feedback against it (never empty)."""
        docs = [f"{self.name}. {self.description}".strip(" ."), *self.keywords, *self.examples]
        return [d for d in docs if d.strip()] or [self.id.replace("-", " ")]


@dataclass(frozen=True)
class Taxonomy:
    causes: tuple[CauseSpec, ...] = field(default_factory=tuple)

    def by_id(self) -> dict[str, CauseSpec]:
        return {c.id: c for c in self.causes}


def _strings(value: Any, where: str, errors: list[FieldError]) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        errors.append(FieldError(where, "expected a list of strings"))
        return ()
    return tuple(v.strip() for v in value if v.strip())


def parse_cause(raw: Any, where: str, errors: list[FieldError]) -> CauseSpec | None:
    """One cause from a TOML table or JSON object; problems go to ``errors`` under ``where``."""
    if not isinstance(raw, dict):
        errors.append(FieldError(where, "expected a table with id, name, department, keywords, ..."))
        return None
    before = len(errors)
    unknown = set(raw) - {"id", "name", "department", "description", "keywords", "examples"}
    for key in sorted(unknown):
        errors.append(FieldError(f"{where}.{key}", "unknown field"))
    cause_id = raw.get("id")
    if not isinstance(cause_id, str) or not CAUSE_ID.match(cause_id):
        errors.append(FieldError(f"{where}.id", "expected lowercase letters, digits, - and _ (at most 64)"))
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        errors.append(FieldError(f"{where}.name", "expected a name of 1 to 200 characters"))
    elif problem := control_character_error(name):
        errors.append(FieldError(f"{where}.name", problem))
    department = raw.get("department")
    if department is not None and not isinstance(department, str):
        errors.append(FieldError(f"{where}.department", "expected a department's slug"))
    description = raw.get("description", "")
    if not isinstance(description, str):
        errors.append(FieldError(f"{where}.description", "expected text"))
    keywords = _strings(raw.get("keywords"), f"{where}.keywords", errors)
    examples = _strings(raw.get("examples"), f"{where}.examples", errors)
    if len(errors) > before:
        return None
    return CauseSpec(
        id=str(cause_id),
        name=str(name).strip(),
        department=department or None,
        description=str(description).strip(),
        keywords=keywords,
        examples=examples,
    )


def parse_taxonomy(data: dict[str, Any]) -> Taxonomy:
    """A taxonomy from a parsed TOML document; every problem is reported at once (InvalidInput)."""
    errors: list[FieldError] = []
    raw_causes = data.get("causes", [])
    for key in sorted(set(data) - {"causes"}):
        errors.append(FieldError(key, "unknown field (a taxonomy has [[causes]] tables)"))
    if not isinstance(raw_causes, list):
        raise InvalidInput.on("causes", "expected [[causes]] tables")
    causes: list[CauseSpec] = []
    seen: set[str] = set()
    for i, raw in enumerate(raw_causes):
        spec = parse_cause(raw, f"causes[{i}]", errors)
        if spec is None:
            continue
        if spec.id in seen:
            errors.append(FieldError(f"causes[{i}].id", f"duplicate id {spec.id!r}"))
            continue
        seen.add(spec.id)
        causes.append(spec)
    if errors:
        raise InvalidInput.of(errors)
    return Taxonomy(tuple(causes))


def read_taxonomy(path: Path) -> Taxonomy:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise InvalidInput.on(str(path), f"not valid TOML: {error}") from error
    return parse_taxonomy(data)
