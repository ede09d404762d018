"""Dashboards in the browser: the list, a dashboard with its filters in the URL, each panel's data as a file.

Every page needs a login (web/auth.py ``logged_in``); what it shows is scoped like the API: a department
head sees only their own department. plotly.js is served from the installed plotly package, once per page,
under a versioned URL that browsers may keep for a year.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Template
from sqlalchemy.orm import Session

from feedback.accounts.access import Caller
from feedback.dashboards.access import (
    department_choices,
    filters_for,
    known_values,
    open_dashboard,
    visible_dashboards,
)
from feedback.dashboards.cache import audience, cache_for, data_fingerprint
from feedback.dashboards.filters import FILTER_NAMES, PageFilters
from feedback.dashboards.headline import asked_on_page, headline
from feedback.dashboards.library import load_library
from feedback.dashboards.panels import PanelData, read_dashboard
from feedback.dashboards.spec import DashboardSpec
from feedback.dashboards.tables import FORMATS, to_bytes
from feedback.dashboards.views import PanelView, TileView, panel_views, tile_view
from feedback.db import transaction
from feedback.errors import NotFound
from feedback.models import Role
from feedback.responses.context import company_fields
from feedback.web import assets
from feedback.web.auth import logged_in
from feedback.web.state import AnyRequest, AppContext


@dataclass(frozen=True)
class Result:
    data: list[PanelData]
    views: list[PanelView]
    tiles: list[TileView]
    missing: list[str]  # the scores the department does not collect, in words


def _params(request: AnyRequest) -> dict[str, str | None]:
    names = (*FILTER_NAMES, *(field.name for field in company_fields()))
    return {name: request.query_params.get(name) for name in names}


def _spec_key(spec: DashboardSpec) -> str:
    return hashlib.sha256(repr(spec).encode()).hexdigest()


def dashboard_result(
    ctx: AppContext, session: Session, spec: DashboardSpec, filters: PageFilters, caller: Caller
) -> Result:
    """Every panel's data and view, from the cache while the data has not changed."""
    min_n = ctx.settings.metrics_min_n
    key = (_spec_key(spec), filters, audience(caller), min_n)
    cache = cache_for(ctx.settings.database_url, ctx.settings.dashboard_cache_s)

    def compute() -> Result:
        data = read_dashboard(session, caller, spec, filters, min_n)
        asked = asked_on_page(session, filters, caller)
        top = headline(session, spec.headline, filters, caller, min_n, asked)
        days = (filters.until - filters.since).days + 1
        tiles = [tile_view(t, days) for t in top.tiles]
        return Result(data, panel_views(data, min_n, asked, filters), tiles, top.missing)

    return cache.get_or_compute(key, data_fingerprint(session), compute)


def _cause_choices(data: list[PanelData]) -> list[tuple[str, str]]:
    """(id, name) of the causes on the page, for the comments' cause filter."""
    found: dict[str, str] = {}
    for panel in data:
        if {"cause_id", "cause"} <= set(panel.frame.columns):
            for key, name in panel.frame.select("cause_id", "cause").iter_rows():
                if key:
                    found[key] = name
    return sorted(found.items(), key=lambda kv: kv[1].lower())


def _viewer(caller: Caller) -> str:
    return f"{caller.name} ({caller.role.replace('_', ' ')})"


class DashboardPages(Controller):
    include_in_schema = False

    @get("/dashboards", sync_to_thread=True)
    def index(self, request: AnyRequest, ctx: NamedDependency[AppContext]) -> Template:
        library = load_library(ctx.settings.dashboards_dir or None)
        with transaction(ctx.sessions) as session:
            caller = logged_in(request, session)
        shown = visible_dashboards(library, caller)
        context = {
            "title": "Dashboards",
            "dashboards": shown,
            "nav": shown,
            "dashboard": None,
            "viewer": _viewer(caller),
            "problems": library.problems if caller.role == "admin" else [],
            "assets": assets.asset_urls(),
        }
        return Template("dashboards/index.html", context=context)

    @get("/dashboards/{name:str}", sync_to_thread=True)
    def page(self, request: AnyRequest, ctx: NamedDependency[AppContext], name: FromPath[str]) -> Template:
        library = load_library(ctx.settings.dashboards_dir or None)
        with transaction(ctx.sessions) as session:
            caller = logged_in(request, session)
            spec = open_dashboard(library, name, caller)
            known = known_values(session, caller)
            filters = filters_for(session, spec, caller, _params(request), known=known)
            result = dashboard_result(ctx, session, spec, filters, caller)
            departments = department_choices(session, caller)
        context: dict[str, Any] = {
            "title": spec.title,
            "dashboard": spec,
            "nav": visible_dashboards(library, caller),
            "viewer": _viewer(caller),
            "filters": filters,
            "query": filters.query_string(),
            "departments": departments,
            "fixed_department": caller.sees_one_department,
            "channel_choices": known["channel"],
            "product_choices": known["product"],
            "company_fields": company_fields(),
            "cause_choices": _cause_choices(result.data),
            "has_comments": any(p.kind == "verbatims" for p in spec.panels),
            "is_admin": caller.role == Role.ADMIN,
            "panels": result.views,
            "tiles": result.tiles,
            "missing": result.missing,
            "assets": assets.asset_urls(),
            "standalone": False,
        }
        return Template("dashboards/dashboard.html", context=context)

    @get("/dashboards/{name:str}/panels/{file:str}", sync_to_thread=True)
    def download(
        self, request: AnyRequest, ctx: NamedDependency[AppContext], name: FromPath[str], file: FromPath[str]
    ) -> Response[bytes]:
        panel_id, _, fmt = file.rpartition(".")
        if fmt not in FORMATS:
            raise NotFound("panel data comes as .csv or .parquet")
        library = load_library(ctx.settings.dashboards_dir or None)
        with transaction(ctx.sessions) as session:
            caller = logged_in(request, session)
            spec = open_dashboard(library, name, caller)
            if spec.panel(panel_id) is None:
                raise NotFound(f"no panel {panel_id!r} on the dashboard {name!r}")
            filters = filters_for(session, spec, caller, _params(request))
            result = dashboard_result(ctx, session, spec, filters, caller)
        frame = next(d.frame for d in result.data if d.spec.id == panel_id)
        filename = f"{name}-{panel_id}-{filters.since}-{filters.until}.{fmt}"
        return Response(
            to_bytes(frame, fmt),
            media_type=FORMATS[fmt],
            headers={
                "Content-Disposition": f'attachment; filename="{filename}"',
                "Cache-Control": "no-store",
            },
        )

    @get("/assets/{file:str}", sync_to_thread=True)
    def asset(self, request: AnyRequest, file: FromPath[str]) -> Response[bytes]:
        """plotly.js, our scripts and styles: fingerprinted, compressed, never from a CDN."""
        name = assets.resolve(file)
        if name is None:
            raise NotFound("no such file")
        body, encoding = assets.body(name, request.headers.get("accept-encoding", ""))
        headers = {"Cache-Control": assets.IMMUTABLE, "Vary": "Accept-Encoding"}
        if encoding:
            headers["Content-Encoding"] = encoding
        return Response(body, media_type=assets.content_type(name), headers=headers)
