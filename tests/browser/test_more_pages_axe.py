"""axe-core on the other page types this work touched: the public form, and an action link opened again."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy.orm import Session, sessionmaker

from feedback.config import Settings
from feedback.digests.links import action_links
from tests.browser.test_public_form_in_browser import public_link
from tests.browser.test_score_link_in_browser import SIZES, serious_violations
from tests.browser.test_survey_in_browser import browser, new_page, screenshot  # noqa: F401  (a fixture)
from tests.digests import data
from tests.live_server import live_server  # noqa: F401  (a fixture)

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("size", SIZES)
def test_the_public_form_and_a_used_action_link_have_no_serious_violations(
    browser: Browser,  # noqa: F811
    sessions: sessionmaker[Session],
    live_server: str,  # noqa: F811
    size: str,
) -> None:
    context, page = new_page(browser, **SIZES[size])
    try:
        page.goto(public_link(sessions, live_server))
        expect(page.get_by_role("button", name="Send my answers")).to_be_visible()
        assert serious_violations(page) == []

        cause = data.cause(sessions, "late-refunds", data.department(sessions, "billing"), "Late refunds")
        link = action_links(Settings(base_url=live_server), cause, 3, datetime.now(UTC))["acknowledge"]
        page.goto(link)
        assert serious_violations(page) == []
        page.get_by_role("button", name="Acknowledge").click()
        expect(page.locator(".message").last).to_contain_text("Acknowledged")
        page.goto(link)  # opened again from the same digest
        expect(page.locator("h1")).to_have_text("Already done")
        expect(page.locator("form")).to_have_count(0)
        assert serious_violations(page) == []
        screenshot(page, f"{size}-action-already-done")
    finally:
        context.close()
