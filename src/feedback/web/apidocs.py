"""The API docs page at /schema: Swagger UI served from installed files, so the page works on a server
without internet access (no CDN at run time).

The files come from the PyPI package drf-spectacular-sidecar, which ships the current Swagger UI 5 (BSD
licence, released with each Swagger UI release). Its Python module is never imported (it imports Django):
only its directory of static files is located. swagger-ui-bundle, the obvious package, ships Swagger UI
4.15, which refuses our OpenAPI 3.1 schema ("does not specify a valid version field").
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from litestar import Request, Router
from litestar.datastructures import CacheControlHeader
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.static_files import create_static_files_router

ASSETS = "/schema-assets"


def swagger_ui_files() -> Path:
    """The installed Swagger UI distribution (located without importing its package)."""
    spec = importlib.util.find_spec("drf_spectacular_sidecar")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("drf-spectacular-sidecar is not installed: pip install -e . installs it")
    return Path(spec.submodule_search_locations[0]) / "static" / "drf_spectacular_sidecar" / "swagger-ui-dist"


class OfflineSwaggerUI(SwaggerRenderPlugin):
    """Swagger UI whose scripts, styles and icon come from this server."""

    def __init__(self) -> None:
        super().__init__(
            js_url=f"{ASSETS}/swagger-ui-bundle.js",
            css_url=f"{ASSETS}/swagger-ui.css",
            standalone_preset_js_url=f"{ASSETS}/swagger-ui-standalone-preset.js",
            favicon=f'<link rel="icon" type="image/png" href="{ASSETS}/favicon-32x32.png">',
            path="/",
        )

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return super().render(request, openapi_schema).replace(b"<html>", b'<html lang="en">', 1)


def swagger_assets() -> Router:
    """Swagger UI's files from the installed package, cached for a day."""
    return create_static_files_router(
        path=ASSETS,
        directories=[swagger_ui_files()],
        include_in_schema=False,
        cache_control=CacheControlHeader(max_age=86400, public=True),
    )
