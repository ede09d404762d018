"""Targets an admin sets for a metric, per department or contractor: set, list, delete."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
import polars as pl
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from feedback.accounts.access import Caller
from feedback.departments.service import get_department
from feedback.errors import InvalidInput, NotFound
from feedback.models import Department, Target

# Metrics where higher is better and a target makes sense (volumes have none).
TARGET_METRICS = ("nps", "csat", "ces", "ces_easy", "fcr", "response_rate", "sentiment")
_RANGES = {"nps": (-100.0, 100.0), "ces": (1.0, 7.0), "sentiment": (-1.0, 1.0)}


class TargetSpec(msgspec.Struct, forbid_unknown_fields=True):
    metric: Literal["nps", "csat", "ces", "ces_easy", "fcr", "response_rate", "sentiment"]
    dimension: Literal["department", "contractor"]
    value: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    target: float


class TargetOut(msgspec.Struct):
    metric: str
    dimension: str
    value: str
    target: float


def _out(row: Target) -> TargetOut:
    return TargetOut(row.metric, row.dimension, row.value, row.target)


def set_target(session: Session, spec: TargetSpec) -> TargetOut:
    """Create or change the target for (metric, dimension, value)."""
    low, high = _RANGES.get(spec.metric, (0.0, 100.0))
    if not low <= spec.target <= high:
        raise InvalidInput.on("target", f"{spec.metric} runs from {low:g} to {high:g}")
    if spec.dimension == "department":
        get_department(session, spec.value, field="value")
    row = session.scalar(
        select(Target).where(
            Target.metric == spec.metric, Target.dimension == spec.dimension, Target.value == spec.value
        )
    )
    if row is None:
        row = Target(metric=spec.metric, dimension=spec.dimension, value=spec.value, target=spec.target)
        session.add(row)
    else:
        row.target = spec.target
    session.flush()
    return _out(row)


def list_targets(session: Session, department: str | None = None) -> list[TargetOut]:
    """Every target; with ``department``, that department's and the contractors' (not other departments')."""
    query = select(Target).order_by(Target.dimension, Target.value, Target.metric)
    rows = [_out(r) for r in session.scalars(query)]
    if department is not None:
        rows = [r for r in rows if r.dimension != "department" or r.value == department]
    return rows


def delete_target(session: Session, metric: str, dimension: str, value: str) -> None:
    result = session.execute(
        delete(Target).where(Target.metric == metric, Target.dimension == dimension, Target.value == value)
    )
    if not getattr(result, "rowcount", 0):
        raise NotFound(f"no {metric} target for {dimension} {value!r}")


def targets_frame(session: Session) -> pl.DataFrame:
    rows = session.execute(select(Target.metric, Target.dimension, Target.value, Target.target)).all()
    return pl.DataFrame(
        [tuple(r) for r in rows],
        schema={"metric": pl.String, "dimension": pl.String, "value": pl.String, "target": pl.Float64},
        orient="row",
    )


def read_targets(session: Session, caller: Caller) -> list[TargetOut]:
    """The targets ``caller`` may see: a head, their department's and the contractors'."""
    scope = caller.scope()
    own = session.get(Department, scope) if scope is not None else None
    return list_targets(session, own.slug if own is not None else (None if scope is None else ""))
