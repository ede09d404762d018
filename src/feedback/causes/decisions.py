"""What an admin decides about causes: accept, merge or dismiss a candidate; create, edit or retire a cause.

Every decision is remembered on the cause row (its status, terms and centroid stay), so the next analysis
recognises the same cluster: a dismissed candidate stays dismissed, a merged one feeds the cause it joined.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from feedback.analysis.causes.taxonomy import CauseSpec
from feedback.causes.events import record
from feedback.causes.taxonomy import apply_spec
from feedback.departments.service import get_department
from feedback.errors import Conflict, InvalidInput, NotFound
from feedback.models import Cause, CauseAssignment, CauseStatus


def get_cause(session: Session, key: str) -> Cause:
    cause = session.scalar(select(Cause).where(Cause.key == key))
    if cause is None:
        raise NotFound(f"no cause {key!r}")
    return cause


def _candidate(session: Session, key: str) -> Cause:
    cause = get_cause(session, key)
    if cause.status != CauseStatus.CANDIDATE:
        raise Conflict(f"cause {key!r} is {cause.status}, not a candidate")
    return cause


def accept(
    session: Session,
    key: str,
    department: str,
    actor: str,
    name: str | None = None,
    new_key: str | None = None,
) -> Cause:
    """Make a candidate a cause of the taxonomy, owned by ``department`` (optionally renamed)."""
    cause = _candidate(session, key)
    owner = get_department(session, department, field="department")
    if new_key and new_key != cause.key:
        if session.scalar(select(Cause.id).where(Cause.key == new_key)) is not None:
            raise InvalidInput.on("id", f"cause id {new_key!r} is taken")
        cause.key = new_key
    cause.status = CauseStatus.ACTIVE
    cause.department_id = owner.id
    cause.name = name or cause.name
    cause.keywords = cause.keywords or [t for t in cause.label.split(" / ") if t]
    cause.examples = cause.examples or list(cause.verbatims)
    session.flush()
    record(session, cause, "accepted", actor=actor, detail={"department": department})
    return cause


def merge(session: Session, key: str, into: str, actor: str) -> Cause:
    """Fold a candidate into another cause: its items (now and in later runs) count for ``into``.

    The items move at once (counts, lists and fix checks see them); the weekly ledger follows on the next
    analysis run, which rebuilds it.
    """
    cause = _candidate(session, key)
    target = get_cause(session, into)
    if target.id == cause.id or target.status in (CauseStatus.MERGED, CauseStatus.DISMISSED):
        raise InvalidInput.on("into", f"cannot merge into {into!r} ({target.status})")
    cause.status = CauseStatus.MERGED
    cause.merged_into_id = target.id
    session.execute(
        update(CauseAssignment).where(CauseAssignment.cause_id == cause.id).values(cause_id=target.id)
    )
    target.size += cause.size
    session.flush()
    record(session, cause, "merged", actor=actor, related=target)
    record(session, target, "absorbed", actor=actor, related=cause)
    return cause


def dismiss(session: Session, key: str, actor: str, reason: str | None = None) -> Cause:
    """Not a cause: hidden from now on, and remembered so the same cluster does not come back."""
    cause = _candidate(session, key)
    cause.status = CauseStatus.DISMISSED
    session.flush()
    record(session, cause, "dismissed", actor=actor, detail={"reason": reason} if reason else {})
    return cause


def create_cause(session: Session, spec: CauseSpec, actor: str) -> Cause:
    if session.scalar(select(Cause.id).where(Cause.key == spec.id)) is not None:
        raise Conflict(f"a cause with id {spec.id!r} exists; PATCH it instead")
    department_id = (
        get_department(session, spec.department, field="department").id if spec.department else None
    )
    cause = apply_spec(session, None, spec, department_id)
    record(session, cause, "created", actor=actor)
    return cause


def update_cause(session: Session, key: str, changes: dict[str, object], actor: str) -> Cause:
    """Change a cause's name, description, keywords, examples or owning department."""
    cause = get_cause(session, key)
    if "department" in changes:
        slug = changes["department"]
        cause.department_id = get_department(session, str(slug), field="department").id if slug else None
    for name in ("name", "description"):
        if name in changes and changes[name] is not None:
            setattr(cause, name, str(changes[name]))
    for name in ("keywords", "examples"):
        if name in changes and changes[name] is not None:
            value = changes[name]
            assert isinstance(value, list | tuple)
            setattr(cause, name, [str(v) for v in value])
    session.flush()
    record(session, cause, "updated", actor=actor, detail={"fields": sorted(changes)})
    return cause


def retire_cause(session: Session, key: str, actor: str) -> Cause:
    """Take a cause out of the taxonomy; its history and ledger stay readable."""
    cause = get_cause(session, key)
    cause.status = CauseStatus.RETIRED
    session.flush()
    record(session, cause, "retired", actor=actor)
    return cause
