"""The executive dashboard's section "Does satisfaction pay?" in a real Chromium."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy.orm import Session, sessionmaker

from feedback.accounts.users import create_user
from feedback.db import transaction
from feedback.demo.outcome_data import Planted
from feedback.models import Role
from tests.dashboards.browser import browser, new_page, screenshot, sign_in, wait_for_charts
from tests.dashboards.data import EMAILS, PASSWORD
from tests.live_server import live_server  # noqa: F401  (a fixture)
from tests.outcomes.data import store_events, store_synthetic

pytestmark = pytest.mark.browser
__all__ = ["browser"]


def test_the_section_shows_outcome_by_band_the_adjusted_effect_its_verdict_and_coverage(
    browser: Browser,
    sessions: sessionmaker[Session],
    live_server: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    _, events = store_synthetic(sessions, 11, 1500, Planted(effect=0.2))
    store_events(sessions, events, tmp_path)
    with transaction(sessions) as session:
        create_user(session, EMAILS[Role.EXECUTIVE], "Eve Exec", PASSWORD, Role.EXECUTIVE)
    context, page = new_page(browser)
    try:
        sign_in(page, live_server, Role.EXECUTIVE, "/dashboards/executive-overview")
        wait_for_charts(page)
        chart = page.locator("#chart-satisfaction-pays")
        expect(chart).to_be_visible()
        bands = page.evaluate("document.getElementById('chart-satisfaction-pays').data[0].x")
        assert sorted(bands) == ["dissatisfied", "neutral", "satisfied"]
        section = page.locator("section", has=page.locator("#title-satisfaction-pays"))
        expect(section).to_contain_text("Verdict: shown")
        expect(section).to_contain_text("Coverage: 1,500 responses of known customers")
        expect(section).to_contain_text("not proof of cause")
        table = page.locator("section", has=page.locator("#title-satisfaction-pays-table"))
        expect(table.get_by_role("cell", name="4,5 minus 1,2 (adjusted)")).to_be_visible()
        screenshot(page, "executive-satisfaction-pays")
    finally:
        context.close()
