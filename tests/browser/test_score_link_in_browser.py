"""A score clicked in an e-mail (``/s/<token>?nps=9``) is kept from the first click, in a real Chromium.

The GET stores nothing (mail scanners fetch links); the page saves the score with a POST of its own (on
load with JavaScript, with a "Save my 9" button without), as a partial response that Send completes.
Both sizes, both databases; axe-core checks every page type the customer meets on the way.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from feedback.db import transaction
from feedback.models import Answer, Invitation, Question, Response, SurveyStatus, utcnow
from feedback.surveys.service import set_status
from tests import factories
from tests.browser.test_survey_in_browser import PHONE, browser, new_page, screenshot  # noqa: F401
from tests.live_server import live_server  # noqa: F401  (a fixture)

pytestmark = pytest.mark.browser

DESKTOP: dict[str, Any] = {"viewport": {"width": 1280, "height": 800}}
SIZES = {"phone": PHONE, "desktop": DESKTOP}
SAVED_HIGH = "Thanks, your 9 is saved. Anything to add?"


def rows(sessions: sessionmaker[Session]) -> list[dict[str, Any]]:
    with sessions() as session:
        responses = session.execute(select(Response.id, Response.nps, Response.complete, Response.via)).all()
        comments = dict(
            session.execute(
                select(Answer.response_id, Answer.text).join(Question).where(Question.key == "comment")
            ).all()
        )
        answered = session.scalars(select(Invitation.responded_at)).all()
    assert all(at is not None for at in answered) == bool(responses)  # the response rate counts it once
    return [
        {"id": r.id, "nps": r.nps, "complete": r.complete, "via": r.via, "comment": comments.get(r.id)}
        for r in responses
    ]


def serious_violations(page: Page) -> list[str]:
    """axe-core's serious and critical findings on the page as it is now."""
    found = Axe().run(page).response["violations"]
    return [f"{v['id']}: {v['help']}" for v in found if v["impact"] in ("serious", "critical")]


def focused(page: Page) -> str:
    return str(page.evaluate("() => document.activeElement.name || document.activeElement.tagName"))


@pytest.fixture
def link(sessions: sessionmaker[Session], live_server: str) -> str:  # noqa: F811
    factories.survey(sessions)
    [token] = factories.invite(sessions, [{"email": "ann@example.com"}])
    return f"{live_server}/s/{token}"


@pytest.mark.parametrize("size", SIZES)
def test_a_clicked_score_is_kept_even_if_the_tab_is_closed_and_send_completes_it(
    browser: Browser,  # noqa: F811
    link: str,
    sessions: sessionmaker[Session],
    size: str,
) -> None:
    context, page = new_page(browser, **SIZES[size])
    try:
        page.goto(f"{link}?nps=9")
        expect(page.get_by_role("status")).to_have_text(SAVED_HIGH)  # saved by the page's own POST
        expect(page).to_have_url(link)  # the score left the address: a reload does not post again
        # The comment box comes first and has the focus, asking a promoter's follow-up question.
        expect(page.locator("textarea, fieldset").first).to_have_attribute("name", "comment")
        assert focused(page) == "comment"
        expect(page.get_by_role("textbox", name="Great to hear! What did we do well?")).to_be_visible()
        expect(page.locator("input[type=radio][name=nps][value='9']")).to_be_checked()
        assert serious_violations(page) == []
        screenshot(page, f"{size}-score-saved")
    finally:
        context.close()  # the customer closes the tab
    [kept] = rows(sessions)
    assert (kept["nps"], kept["complete"], kept["comment"], kept["via"]) == (9, False, None, "email")

    context, page = new_page(browser, **SIZES[size])
    try:
        page.goto(link)  # back later, from the same e-mail
        expect(page.get_by_role("status")).to_have_text(SAVED_HIGH)
        page.get_by_role("textbox", name="Great to hear! What did we do well?").fill("Fast and friendly")
        page.get_by_role("button", name="Send my answers").click()
        page.wait_for_url(re.compile(r"/thanks/support-followup\?lang=en$"))
        assert serious_violations(page) == []
        page.goto(link)
        expect(page.locator("h1")).to_have_text("You have already answered")
        expect(page.locator("body")).not_to_contain_text("Sorry")
        assert serious_violations(page) == []
    finally:
        context.close()
    assert rows(sessions) == [
        {"id": kept["id"], "nps": 9, "complete": True, "via": "email", "comment": "Fast and friendly"}
    ]


@pytest.mark.parametrize("size", SIZES)
def test_without_javascript_a_button_saves_the_score_and_a_low_score_gets_its_own_question(
    browser: Browser,  # noqa: F811
    link: str,
    sessions: sessionmaker[Session],
    size: str,
) -> None:
    context, page = new_page(browser, java_script_enabled=False, **SIZES[size])
    try:
        page.goto(f"{link}?nps=3")
        expect(page.locator("input[type=radio][name=nps][value='3']")).to_be_checked()
        assert serious_violations_without_js(browser, page.url, size) == []
        assert rows(sessions) == []  # shown, not stored
        page.get_by_role("button", name="Save my 3").click()
        expect(page.get_by_role("status")).to_have_text("Thanks, your 3 is saved. Anything to add?")
        expect(page.get_by_role("textbox", name="Sorry to hear that. What went wrong?")).to_be_visible()
        screenshot(page, f"{size}-low-score-saved-nojs")
        # Changing one's mind: another score from the e-mail updates the same partial row.
        page.goto(f"{link}?nps=5")
        page.get_by_role("button", name="Save my 5").click()
        expect(page.get_by_role("status")).to_have_text("Thanks, your 5 is saved. Anything to add?")
    finally:
        context.close()
    [kept] = rows(sessions)
    assert (kept["nps"], kept["complete"]) == (5, False)


def serious_violations_without_js(chromium: Browser, url: str, size: str) -> list[str]:
    """axe needs JavaScript: the same page, opened where scripts run but the save script is blocked."""
    context, page = new_page(chromium, **SIZES[size])
    try:
        page.route("**/static/survey.js", lambda route: route.abort())
        page.goto(url)
        return serious_violations(page)
    finally:
        context.close()


@pytest.mark.parametrize("size", SIZES)
def test_expired_and_closed_links_say_what_to_do_next(
    browser: Browser,  # noqa: F811
    sessions: sessionmaker[Session],
    live_server: str,  # noqa: F811
    size: str,
) -> None:
    factories.survey(sessions)
    expired, closed = factories.invite(sessions, [{"email": "a@example.com"}, {"email": "b@example.com"}])
    with transaction(sessions) as session:
        when = utcnow() - timedelta(days=1)
        session.execute(update(Invitation).where(Invitation.email == "a@example.com").values(expires_at=when))
    context, page = new_page(browser, **SIZES[size])
    try:
        page.goto(f"{live_server}/s/{expired}?nps=9")
        expect(page.locator("h1")).to_have_text("This link has expired")
        expect(page.locator(".next-step")).to_contain_text("reply to the e-mail")
        assert serious_violations(page) == []
        with transaction(sessions) as session:
            set_status(session, "support-followup", SurveyStatus.CLOSED)
        page.goto(f"{live_server}/s/{closed}")
        expect(page.locator("h1")).to_have_text("This survey is closed")
        expect(page.locator(".next-step")).to_contain_text("reply to the e-mail")
        assert serious_violations(page) == []
        screenshot(page, f"{size}-closed")
    finally:
        context.close()
    assert rows(sessions) == []


def test_the_character_counter_does_not_cut_pasted_text_and_the_server_explains(
    browser: Browser,  # noqa: F811
    link: str,
    sessions: sessionmaker[Session],
) -> None:
    context, page = new_page(browser, **PHONE)
    try:
        page.goto(link)
        box = page.get_by_role("textbox", name="What could we do better?")
        expect(page.locator("#count-comment")).to_have_text("500 characters left")
        box.fill("x" * 480)
        expect(page.locator("#count-comment")).to_have_text("20 characters left")
        box.fill("y" * 530)  # pasted: nothing is cut
        expect(box).to_have_value("y" * 530)
        expect(page.locator("#count-comment")).to_have_text("30 characters too many")
        page.get_by_role("radio", name="8", exact=True).check()
        page.get_by_role("button", name="Send my answers").click()
        expect(page.locator("#err-comment")).to_have_text("Error: at most 500 characters, got 530")
        expect(box).to_have_value("y" * 530)
        assert serious_violations(page) == []
    finally:
        context.close()
    assert rows(sessions) == []
