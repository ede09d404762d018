"""A real Chromium (Debian's /usr/bin/chromium) for dashboard tests, and what they do with it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from feedback.models import Role
from tests.dashboards.data import EMAILS, PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "dashboards"
DESKTOP: dict[str, Any] = {"viewport": {"width": 1400, "height": 900}}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium (bash tests/run does)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def new_page(browser: Browser, **options: Any) -> tuple[BrowserContext, Page]:
    context = browser.new_context(locale="en-US", **{**DESKTOP, **options})
    context.set_default_timeout(20_000)
    return context, context.new_page()


def sign_in(page: Page, base: str, role: Role, path: str) -> None:
    """Open ``path``, get sent to the login form, sign in, and land back on ``path``."""
    page.goto(base + path)
    assert "/login?next=" in page.url, page.url
    page.get_by_label("E-mail").fill(EMAILS[role])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    try:
        page.wait_for_url(base + path)
    except Exception:
        screenshot(page, f"sign-in-failed-{role}")
        raise AssertionError(
            f"signing in as {role} ended on {page.url}: {page.inner_text('body')[:500]}"
        ) from None


def wait_for_charts(page: Page) -> int:
    """Wait until dashboards.js has drawn every chart; the number of charts."""
    page.wait_for_selector("html[data-charts-drawn]", state="attached")
    return int(page.get_attribute("html", "data-charts-drawn") or 0)


def drawn_charts(page: Page) -> dict[str, int]:
    """Each chart div's id and the number of points Plotly drew in it (its traces' x values)."""
    result: dict[str, int] = page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('div.chart')].map(div => [
            div.id,
            (div.data || []).reduce((n, t) => n + ((t.x || []).length), 0) * (div._fullLayout ? 1 : 0),
        ]))"""
    )
    return result


def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=path, full_page=True)
    return path
