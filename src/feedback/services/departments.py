"""Departments: create, update and look up by slug."""

from __future__ import annotations

from typing import Annotated

import msgspec
from sqlalchemy import select
from sqlalchemy.orm import Session

from feedback.errors import InvalidInput, NotFound
from feedback.models import Department

Slug = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$", examples=["support"])]


class DepartmentSpec(msgspec.Struct, forbid_unknown_fields=True):
    slug: Slug
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class DepartmentOut(msgspec.Struct):
    slug: str
    name: str


def to_out(department: Department) -> DepartmentOut:
    return DepartmentOut(slug=department.slug, name=department.name)


def upsert_department(session: Session, spec: DepartmentSpec) -> Department:
    department = session.scalar(select(Department).where(Department.slug == spec.slug))
    if department is None:
        department = Department(slug=spec.slug, name=spec.name)
        session.add(department)
    else:
        department.name = spec.name
    session.flush()
    return department


def get_department(session: Session, slug: str, field: str | None = None) -> Department:
    """The department with this slug. Unknown: 404, or 422 on ``field`` when the slug came in a body."""
    department = session.scalar(select(Department).where(Department.slug == slug))
    if department is None:
        known = ", ".join(session.scalars(select(Department.slug).order_by(Department.slug)).all())
        message = f"unknown department {slug!r} (known: {known or 'none yet'})"
        raise InvalidInput.on(field, message) if field else NotFound(message)
    return department


def list_departments(session: Session) -> list[Department]:
    return list(session.scalars(select(Department).order_by(Department.slug)))


def department_slugs(session: Session) -> dict[str, int]:
    return {slug: id_ for id_, slug in session.execute(select(Department.id, Department.slug))}
