"""The taxonomy in the database: load a file or an API body into causes rows, and read it back as specs."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from feedback.analysis.causes.taxonomy import CauseSpec, Taxonomy
from feedback.causes.events import record
from feedback.errors import FieldError, InvalidInput
from feedback.models import Cause, CauseStatus, Department


@dataclass(frozen=True)
class LoadReport:
    created: int
    updated: int
    unchanged: int


def department_ids(session: Session) -> dict[str, int]:
    return {slug: id_ for id_, slug in session.execute(select(Department.id, Department.slug))}


def _check_departments(session: Session, specs: tuple[CauseSpec, ...]) -> dict[str, int]:
    known = department_ids(session)
    errors = [
        FieldError(f"causes[{i}].department", f"unknown department {spec.department!r}")
        for i, spec in enumerate(specs)
        if spec.department and spec.department not in known
    ]
    if errors:
        raise InvalidInput.of(errors)
    return known


def apply_spec(session: Session, cause: Cause | None, spec: CauseSpec, department_id: int | None) -> Cause:
    """Create or update the taxonomy cause ``spec`` describes (its key is the spec's id)."""
    if cause is None:
        cause = Cause(
            key=spec.id, origin="taxonomy", status=CauseStatus.ACTIVE, terms={}, verbatims=[], size=0
        )
        session.add(cause)
    cause.name = spec.name
    cause.description = spec.description
    cause.keywords = list(spec.keywords)
    cause.examples = list(spec.examples)
    cause.department_id = department_id
    if cause.status != CauseStatus.ACTIVE:
        cause.status = CauseStatus.ACTIVE
        cause.merged_into_id = None
    session.flush()
    return cause


def _same(cause: Cause, spec: CauseSpec, department_id: int | None) -> bool:
    return (
        cause.status == CauseStatus.ACTIVE
        and cause.name == spec.name
        and cause.description == spec.description
        and list(cause.keywords) == list(spec.keywords)
        and list(cause.examples) == list(spec.examples)
        and cause.department_id == department_id
    )


def load_taxonomy(session: Session, taxonomy: Taxonomy, actor: str = "cli") -> LoadReport:
    """Create or update every cause of ``taxonomy`` (by id). Causes not in the file are left as they are."""
    known = _check_departments(session, taxonomy.causes)
    existing = {
        c.key: c for c in session.scalars(select(Cause).where(Cause.key.in_([s.id for s in taxonomy.causes])))
    }
    created = updated = unchanged = 0
    for spec in taxonomy.causes:
        department_id = known[spec.department] if spec.department else None
        cause = existing.get(spec.id)
        if cause is not None and _same(cause, spec, department_id):
            unchanged += 1
            continue
        kind = "created" if cause is None else "updated"
        cause = apply_spec(session, cause, spec, department_id)
        record(session, cause, kind, actor=actor)
        created += kind == "created"
        updated += kind == "updated"
    return LoadReport(created, updated, unchanged)


def spec_of(cause: Cause, slugs: dict[int, str]) -> CauseSpec:
    """A cause as a taxonomy entry; an accepted discovered cause is described by its terms and verbatims."""
    keywords = list(cause.keywords)
    examples = list(cause.examples)
    if cause.origin == "discovered":
        keywords = keywords or [t for t in cause.label.split(" / ") if t]
        examples = examples or list(cause.verbatims)
    return CauseSpec(
        id=cause.key,
        name=cause.name,
        department=slugs.get(cause.department_id) if cause.department_id else None,
        description=cause.description,
        keywords=tuple(keywords),
        examples=tuple(examples),
    )


def active_causes(session: Session) -> list[Cause]:
    """The causes feedback is assigned to: the taxonomy and accepted candidates, in key order."""
    return list(session.scalars(select(Cause).where(Cause.status == CauseStatus.ACTIVE).order_by(Cause.key)))
