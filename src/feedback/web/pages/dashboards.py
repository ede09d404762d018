"""Dashboards in the browser: the list, a dashboard with its filters in the URL, each panel's data as a file.

Every page needs a login (web/auth.py ``logged_in``); what it shows is scoped like the API: a department
head sees only their own department. plotly.js is served from the installed plotly package, once per page,
under a versioned URL that browsers may keep for a year.
"""

from __future__ import annotations

import hashlib
from typing import Any

import polars as pl
from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Template
from sqlalchemy.orm import Session

from feedback.db import transaction
from feedback.errors import NotFound
from feedback.services.access import Caller
from feedback.services.dashboards.access import (
    department_choices,
    filters_for,
    open_dashboard,
    visible_dashboards,
)
from feedback.services.dashboards.cache import cache_for, data_fingerprint
from feedback.services.dashboards.filters import FILTER_NAMES, PageFilters
from feedback.services.dashboards.library import load_library
from feedback.services.dashboards.panels import PanelData, read_dashboard
from feedback.services.dashboards.spec import DashboardSpec
from feedback.services.dashboards.tables import FORMATS, to_bytes
from feedback.services.privacy import exposure
from feedback.web.auth import logged_in
from feedback.web.pages.dashboard_views import (
    PLOTLY_URL,
    PanelView,
    panel_views,
    plotly_js_gzip,
    plotly_js_path,
)
from feedback.web.state import AnyRequest, AppContext

Result = tuple[list[PanelData], list[PanelView]]
_plotly_plain: dict[str, bytes] = {}


def _params(request: AnyRequest) -> dict[str, str | None]:
    return {name: request.query_params.get(name) for name in FILTER_NAMES}


def _spec_key(spec: DashboardSpec) -> str:
    return hashlib.sha256(repr(spec).encode()).hexdigest()


def dashboard_result(
    ctx: AppContext, session: Session, spec: DashboardSpec, filters: PageFilters, caller: Caller
) -> Result:
    """Every panel's data and view, from the cache while the data has not changed."""
    min_n = ctx.settings.metrics_min_n
    key = (_spec_key(spec), filters, caller.scope(), exposure.sees_personal_data(caller), min_n)
    cache = cache_for(ctx.settings.database_url, ctx.settings.dashboard_cache_s)

    def compute() -> Result:
        data = read_dashboard(session, caller, spec, filters, min_n)
        return data, panel_views(data, min_n)

    return cache.get_or_compute(key, data_fingerprint(session), compute)


def _choices(data: list[PanelData], column: str) -> list[str]:
    values: set[str] = set()
    for panel in data:
        if column in panel.frame.columns and panel.frame.schema[column] == pl.String:
            values.update(v for v in panel.frame.get_column(column).drop_nulls().to_list() if v)
    return sorted(values)[:200]


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
        }
        return Template("dashboards/index.html", context=context)

    @get("/dashboards/{name:str}", sync_to_thread=True)
    def page(self, request: AnyRequest, ctx: NamedDependency[AppContext], name: FromPath[str]) -> Template:
        library = load_library(ctx.settings.dashboards_dir or None)
        with transaction(ctx.sessions) as session:
            caller = logged_in(request, session)
            spec = open_dashboard(library, name, caller)
            filters = filters_for(session, spec, caller, _params(request))
            data, views = dashboard_result(ctx, session, spec, filters, caller)
            departments = department_choices(session, caller)
        context: dict[str, Any] = {
            "title": spec.title,
            "dashboard": spec,
            "nav": visible_dashboards(library, caller),
            "viewer": _viewer(caller),
            "filters": filters,
            "query": filters.query_string(),
            "departments": departments,
            "fixed_department": caller.scope() is not None,
            "channel_choices": _choices(data, "channel"),
            "product_choices": _choices(data, "product"),
            "panels": views,
            "plotly_url": PLOTLY_URL,
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
            data, _ = dashboard_result(ctx, session, spec, filters, caller)
        frame = next(d.frame for d in data if d.spec.id == panel_id)
        filename = f"{name}-{panel_id}-{filters.since}-{filters.until}.{fmt}"
        return Response(
            to_bytes(frame, fmt),
            media_type=FORMATS[fmt],
            headers={
                "Content-Disposition": f'attachment; filename="{filename}"',
                "Cache-Control": "no-store",
            },
        )

    @get("/vendor/{file:str}", sync_to_thread=True)
    def plotly_js(self, request: AnyRequest, file: FromPath[str]) -> Response[bytes]:
        """plotly.min.js from the installed plotly package (no CDN: customers' networks may be closed)."""
        if f"/vendor/{file}" != PLOTLY_URL:
            raise NotFound("no such file")
        headers = {"Cache-Control": "public, max-age=31536000, immutable", "Vary": "Accept-Encoding"}
        if "gzip" in request.headers.get("accept-encoding", "").lower():
            body = plotly_js_gzip()
            headers["Content-Encoding"] = "gzip"
        else:
            body = _plotly_plain.get("js") or _plotly_plain.setdefault("js", plotly_js_path().read_bytes())
        return Response(body, media_type="text/javascript; charset=utf-8", headers=headers)
