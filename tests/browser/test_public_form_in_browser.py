"""The public survey link in a real Chromium, with the real anti-bot defaults (2 s minimum): a person who
takes a moment is never bothered, one who is very quick is asked once more, and the honeypot is out of
reach of the keyboard, the eye and the accessibility tree."""

from __future__ import annotations

import re
import time

from playwright.sync_api import Browser, Page, expect
from sqlalchemy.orm import Session, sessionmaker

from feedback.web.formguard import TOO_FAST
from tests import factories
from tests.browser.test_survey_in_browser import DESKTOP, PHONE, browser, new_page, nps, stored  # noqa: F401
from tests.live_server import live_server  # noqa: F401  (a fixture)


def public_link(sessions: sessionmaker[Session], base: str) -> str:
    survey = factories.survey(sessions)
    return f"{base}/p/{survey.public_key}"


def tab_stops(page: Page, count: int) -> list[str]:
    names = []
    for _ in range(count):
        page.keyboard.press("Tab")
        names.append(page.evaluate("() => document.activeElement.name || document.activeElement.tagName"))
    return names


def test_a_person_taking_a_moment_is_never_bothered_by_the_bot_checks(
    browser: Browser,  # noqa: F811
    sessions: sessionmaker[Session],
    live_server: str,  # noqa: F811
) -> None:
    context, page = new_page(browser, **DESKTOP)
    try:
        page.goto(public_link(sessions, live_server))
        shown = time.monotonic()
        honeypot = page.locator("#hp_leave_empty")
        box = honeypot.bounding_box()
        assert box is not None and box["x"] + box["width"] <= 0  # off screen
        expect(page.get_by_role("textbox", name="Leave this field empty")).to_have_count(0)
        stops = tab_stops(page, 12)
        assert "hp_leave_empty" not in stops and "comment" in stops, stops

        nps(page).get_by_role("radio", name="9", exact=True).check()
        page.get_by_role("textbox", name="What could we do better?").fill("Friendly and quick")
        page.wait_for_timeout(max(0, 2500 - (time.monotonic() - shown) * 1000))  # a person, reading
        page.get_by_role("button", name="Send my answers").click()
        page.wait_for_url(re.compile(r"/thanks/support-followup\?lang=en$"))
        assert stored(sessions) == [
            {"nps": 9, "via": "web", "invited": False, "comment": "Friendly and quick"}
        ]
    finally:
        context.close()


def test_a_very_quick_person_is_asked_once_more_and_loses_nothing(
    browser: Browser,  # noqa: F811
    sessions: sessionmaker[Session],
    live_server: str,  # noqa: F811
) -> None:
    context, page = new_page(browser, **PHONE)
    try:
        page.goto(public_link(sessions, live_server))
        nps(page).get_by_role("radio", name="8", exact=True).check()
        page.get_by_role("button", name="Send my answers").click()
        expect(page.get_by_role("alert")).to_have_text(TOO_FAST)
        expect(nps(page).get_by_role("radio", name="8", exact=True)).to_be_checked()
        assert stored(sessions) == []
        page.wait_for_timeout(2000)
        page.get_by_role("button", name="Send my answers").click()
        page.wait_for_url(re.compile(r"/thanks/support-followup\?lang=en$"))
        assert [r["nps"] for r in stored(sessions)] == [8]
    finally:
        context.close()
