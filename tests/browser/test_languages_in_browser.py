"""A Portuguese-speaking customer's browser gets the survey in Portuguese, at both sizes, with axe-core."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from feedback.models import Response
from tests import factories
from tests.browser.test_score_link_in_browser import SIZES, serious_violations
from tests.browser.test_survey_in_browser import browser, screenshot  # noqa: F401  (a fixture)
from tests.live_server import live_server  # noqa: F401  (a fixture)
from tests.surveys.test_languages import PORTUGUESE

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("size", SIZES)
def test_a_portuguese_browser_answers_in_portuguese(
    browser: Browser,  # noqa: F811
    sessions: sessionmaker[Session],
    live_server: str,  # noqa: F811
    size: str,
) -> None:
    factories.survey(sessions, translations={"pt": PORTUGUESE})
    [token] = factories.invite(sessions, [{"email": "ana@example.com"}])
    context = browser.new_context(locale="pt-PT", **SIZES[size])
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        page.goto(f"{live_server}/s/{token}?nps=2")
        expect(page.get_by_role("status")).to_have_text(
            "Obrigado, o seu 2 está guardado. Quer acrescentar algo?"
        )
        expect(page.locator("html")).to_have_attribute("lang", "pt")
        box = page.get_by_role("textbox", name="Lamentamos. O que correu mal?")
        expect(box).to_be_focused()
        box.fill("A entrega chegou tarde")
        expect(page.locator("#count-comment")).to_have_text("Faltam 478 caracteres")
        assert serious_violations(page) == []
        screenshot(page, f"{size}-portuguese")
        page.get_by_role("button", name="Enviar as minhas respostas").click()
        page.wait_for_url(re.compile(r"/thanks/support-followup\?lang=pt$"))
        expect(page.locator(".message")).to_have_text("Obrigado pela sua ajuda!")
    finally:
        context.close()
    with sessions() as session:
        assert session.execute(select(Response.nps, Response.language, Response.complete)).all() == [
            (2, "pt", True)
        ]
