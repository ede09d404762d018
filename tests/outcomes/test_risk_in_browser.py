"""Revenue at risk beside each root cause, in a real Chromium: the executive overview and the cause page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy.orm import Session, sessionmaker

from feedback.accounts.users import create_user
from feedback.db import transaction
from feedback.models import Role
from tests.dashboards.browser import browser, new_page, screenshot, sign_in, wait_for_charts
from tests.dashboards.data import EMAILS, PASSWORD
from tests.digests import data
from tests.live_server import live_server  # noqa: F401  (a fixture)
from tests.outcomes.risk import customers_with_a_cause, shown

pytestmark = pytest.mark.browser
__all__ = ["browser"]


def test_each_costly_cause_shows_its_revenue_at_risk_or_why_not(
    browser: Browser,
    sessions: sessionmaker[Session],
    live_server: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    department = data.department(sessions)
    run = data.analysis_run(sessions, datetime.now(UTC))
    late = data.cause(sessions, "late-delivery", department, "Late delivery")
    rude = data.cause(sessions, "rude-agent", department, "Rude agent")
    today = datetime.now(UTC).date()
    monday = today - timedelta(days=today.weekday())
    data.ledger(sessions, run, late, [(monday, 40, 3.0, "growing")])
    data.ledger(sessions, run, rude, [(monday, 12, 1.0, "new")])
    risk = customers_with_a_cause(sessions, tmp_path, run, late, "late-delivery")
    with transaction(sessions) as session:
        create_user(session, EMAILS[Role.EXECUTIVE], "Eve Exec", PASSWORD, Role.EXECUTIVE)
    context, page = new_page(browser)
    try:
        sign_in(page, live_server, Role.EXECUTIVE, "/dashboards/executive-overview")
        wait_for_charts(page)
        bars = page.evaluate(
            "(() => { const d = document.getElementById('chart-top-causes').data[0];"
            " return Object.fromEntries(d.y.map((name, i) => [name, d.text[i]])); })()"
        )
        assert bars["Late delivery"].endswith(f"at risk {shown(risk)}"), bars
        assert bars["Rude agent"].endswith("not shown (none of its customers has outcomes), not ranked"), bars
        section = page.locator("section", has=page.locator("#title-top-causes"))
        expect(section).to_contain_text("Revenue at risk: what the customers who raised a cause spent less")
        links = section.locator(".bar-links a")  # folded under "What is behind each bar"
        expect(links.filter(has_text=f"Late delivery: revenue at risk {shown(risk)}")).to_have_count(1)
        screenshot(page, "executive-revenue-at-risk")
        page.goto(live_server + "/causes/late-delivery")
        expect(page.locator(".revenue-at-risk")).to_contain_text(f"Revenue at risk: {shown(risk)}")
        page.goto(live_server + "/causes/rude-agent")
        expect(page.locator(".revenue-at-risk")).to_contain_text(
            "not shown (none of its customers has outcomes)"
        )
    finally:
        context.close()
