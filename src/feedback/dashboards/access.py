"""Who may open which dashboard, and the filters they get.

A dashboard's ``audience`` lists the roles that may open it. Admins and executives see every department;
a department head sees only their own, on every panel, download and export (their department filter is
fixed to it).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from feedback.accounts.access import Caller
from feedback.dashboards.filters import PageFilters, parse_page_filters
from feedback.dashboards.library import Library
from feedback.dashboards.spec import DashboardSpec
from feedback.errors import Forbidden, InvalidInput
from feedback.models import Department
from feedback.models.rollup import response_rollups, span_grain


def visible_dashboards(library: Library, caller: Caller) -> list[DashboardSpec]:
    return [spec for spec in library.dashboards.values() if spec.allows(caller.role)]


def open_dashboard(library: Library, name: str, caller: Caller) -> DashboardSpec:
    spec = library.get(name)
    if not spec.allows(caller.role):
        raise Forbidden(f"the dashboard {name!r} is for {', '.join(spec.audience)}")
    return spec


def own_department(session: Session, caller: Caller) -> str | None:
    """The slug of the only department the caller may see (None: every department)."""
    scope = caller.scope()
    if scope is None:
        return None
    slug = session.scalar(select(Department.slug).where(Department.id == scope))
    if slug is None:
        raise Forbidden("your department no longer exists")
    return slug


def filters_for(
    session: Session,
    spec: DashboardSpec,
    caller: Caller,
    params: Mapping[str, str | None],
    today: date | None = None,
    known: Mapping[str, list[str]] | None = None,
) -> PageFilters:
    """The page's filters from ``params``; channels and products spelled as stored (``known``: the
    caller's ``known_values``, when the page has read them already)."""
    filters = parse_page_filters(params, spec.days, today, own_department(session, caller))
    known = known_values(session, caller) if known is None else known
    filters = dataclasses.replace(
        filters,
        channel=_canonical(filters.channel, known["channel"]),
        product=_canonical(filters.product, known["product"]),
    )
    if (
        filters.department is not None
        and session.scalar(select(Department.id).where(Department.slug == filters.department)) is None
    ):
        raise InvalidInput.on("department", f"no department {filters.department!r}")
    return filters


def known_values(session: Session, caller: Caller) -> dict[str, list[str]]:
    """The channels and products that the caller's responses carry (what the filters offer), sorted.

    Read from the monthly rollups (one row per month, survey, department, channel and product), not from
    every response: the same values, at a cost that does not grow with the responses."""
    rollups = response_rollups.c
    out: dict[str, list[str]] = {}
    for name, column in (("channel", rollups.channel), ("product", rollups.facet)):
        query = select(column).where(rollups.grain == span_grain("product", "month"), column != "").distinct()
        if caller.scope() is not None:
            query = query.where(rollups.department_id == caller.scope())
        out[name] = sorted((str(v) for v in session.scalars(query.limit(500))), key=str.lower)
    return out


def _canonical(values: tuple[str, ...], known: list[str]) -> tuple[str, ...]:
    """Typed values as stored: "Phone" finds "phone" (a value nobody stored stays as typed)."""
    by_lower = {v.lower(): v for v in known}
    return tuple(dict.fromkeys(by_lower.get(v.lower(), v) for v in values))


def department_choices(session: Session, caller: Caller) -> list[tuple[str, str]]:
    """(slug, name) of the departments the caller may choose between."""
    query = select(Department.slug, Department.name).order_by(Department.name)
    scope = caller.scope()
    if scope is not None:
        query = query.where(Department.id == scope)
    return [(slug, name) for slug, name in session.execute(query)]
