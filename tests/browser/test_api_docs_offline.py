"""The API docs page works on a server without internet: Swagger UI's files come from the app itself."""

from __future__ import annotations

import re
import sys
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Route, expect

from tests.browser.test_survey_in_browser import browser, new_page  # noqa: F401  (a fixture)
from tests.live_server import live_server  # noqa: F401  (a fixture)

pytestmark = pytest.mark.browser


def test_the_docs_page_names_no_other_host(live_server: str) -> None:  # noqa: F811
    html = httpx.get(f"{live_server}/schema").text
    addresses = re.findall(r'(?:src|href)\s*=\s*["\']([^"\']+)', html)
    assert addresses and all(a.startswith("/") for a in addresses), addresses
    assert "cdn" not in html.lower() and "@latest" not in html
    for address in addresses:
        asset = httpx.get(f"{live_server}{address}")
        assert asset.status_code == 200, address
        assert "max-age=86400" in asset.headers["cache-control"]


def test_the_docs_render_with_every_request_beyond_this_machine_blocked(
    browser: Browser,  # noqa: F811
    live_server: str,  # noqa: F811
) -> None:
    blocked: list[str] = []

    def only_local(route: Route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    context, page = new_page(browser, viewport={"width": 1280, "height": 800})
    try:
        context.route("**/*", only_local)
        page.goto(f"{live_server}/schema", timeout=60_000)  # 1.5 MB of script: slow on a busy machine
        expect(page.locator(".swagger-ui .info .title")).to_contain_text("feedback", timeout=30_000)
        operations = page.locator(".opblock-summary-path")
        expect(operations.first).to_be_visible()
        paths = set(operations.all_inner_texts())
        assert {"/api/surveys", "/api/surveys/{slug}/responses", "/api/metrics"} <= {
            p.replace("\u200b", "") for p in paths
        }
    finally:
        context.close()
    assert blocked == []
    assert "django" not in sys.modules  # the package that ships the files is never imported
