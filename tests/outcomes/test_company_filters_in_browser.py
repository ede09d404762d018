"""The dashboards' filter form offers the company's fields: a category by value, a number by its bands."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from feedback.accounts.users import create_user
from feedback.db import transaction
from feedback.models import Response, Role, Survey
from tests import factories
from tests.dashboards.browser import browser, new_page, screenshot, sign_in
from tests.dashboards.data import EMAILS, PASSWORD
from tests.live_server import live_server  # noqa: F401  (a fixture)
from tests.outcomes.test_company_dimensions import CUSTOMERS, FIELDS, _band, _csat

pytestmark = pytest.mark.browser
__all__ = ["browser"]


def test_filtering_a_dashboard_by_a_company_category_and_band(
    browser: Browser,
    sessions: sessionmaker[Session],
    live_server: str,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = tmp_path / "fields.toml"
    path.write_text(FIELDS)
    monkeypatch.setenv("FEEDBACK_CONTEXT_FIELDS_FILE", str(path))
    factories.survey(sessions)
    yesterday = datetime.now(UTC) - timedelta(days=1)
    with transaction(sessions) as session:
        survey_id = session.scalars(select(Survey.id)).one()
        for days, plan, score in CUSTOMERS.values():
            fields = {k: v for k, v in (("days_late", days), ("plan", plan)) if v is not None}
            session.add(
                Response(
                    id=uuid.uuid4(),
                    survey_id=survey_id,
                    via="api",
                    submitted_at=yesterday,
                    csat=score,
                    context_fields=fields or None,
                )
            )
        create_user(session, EMAILS[Role.EXECUTIVE], "Eve Exec", PASSWORD, Role.EXECUTIVE)
    wanted = [s for d, p, s in CUSTOMERS.values() if p == "pro" and d is not None and _band(d) == "0-3"]
    context, page = new_page(browser)
    try:
        sign_in(page, live_server, Role.EXECUTIVE, "/dashboards/executive-overview")
        expect(page.get_by_label("Order value")).to_have_count(0)  # a number without bands: no filter
        page.get_by_label("Plan").fill("pro")
        page.get_by_label("Days late").select_option("0-3")
        page.get_by_role("button", name="Apply").click()
        page.wait_for_url(re.compile(r"plan=pro"))
        summary = page.locator(".filters-now")
        expect(summary).to_contain_text("days_late: 0-3; plan: pro")  # in the declared order
        tile = page.locator(".tile[data-metric=csat]")
        expect(tile.locator(".tile-value")).to_contain_text(f"{_csat(wanted):.0f}")
        expect(tile.locator(".tile-meta")).to_contain_text(f"{len(wanted)}")
        screenshot(page, "company-field-filters")
        page.goto(live_server + "/dashboards/executive-overview?days_late=soon")
        expect(page.locator("body")).to_contain_text("days_late")
    finally:
        context.close()
