"""The dashboards in a real Chromium: sign in, open each, change a filter, and nothing a customer wrote runs.

Screenshots land in test-artifacts/dashboards/ for a person to look at.
"""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy.orm import Session, sessionmaker

from feedback.accounts.users import create_user
from feedback.db import transaction
from feedback.mentions.webhook import sign
from feedback.models import AnalysisRun, Cause, CauseLedger, Role, RunState
from tests import factories
from tests.dashboards import data
from tests.dashboards.browser import browser, drawn_charts, new_page, screenshot, sign_in, wait_for_charts
from tests.dashboards.data import EMAILS, PASSWORD, A, B
from tests.live_server import live_server  # noqa: F401  (a fixture)

pytestmark = pytest.mark.browser
__all__ = ["browser"]

DASHBOARDS = ("executive-overview", "department", "social-listening")


def test_walk_through_every_dashboard_and_change_a_filter(
    browser: Browser,
    sessions: sessionmaker[Session],
    live_server: str,  # noqa: F811
) -> None:
    data.seed(sessions)
    context, page = new_page(browser)
    try:
        sign_in(page, live_server, Role.EXECUTIVE, "/dashboards/executive-overview")
        for name in DASHBOARDS:
            if not page.url.endswith(f"/dashboards/{name}"):
                page.get_by_role("navigation", name="Dashboards").get_by_role("link").filter(
                    has_text=re.compile(
                        {"department": "Department view", "social-listening": "Social listening"}.get(
                            name, "Executive overview"
                        )
                    )
                ).click()
                page.wait_for_url(f"**/dashboards/{name}")
            count = wait_for_charts(page)
            charts = drawn_charts(page)
            assert count == len(charts) > 0, charts
            assert all(points > 0 for points in charts.values()), charts
            # A chart's title is its panel's heading, above the chart (not drawn again inside it).
            expect(page.locator(".panel h2").first).to_be_visible()
            assert page.locator(".js-plotly-plot .gtitle").count() == 0
            screenshot(page, f"executive-{name}")

        # A filter: the URL changes, and the charts are drawn again from the filtered data.
        page.goto(f"{live_server}/dashboards/executive-overview")
        wait_for_charts(page)
        page.get_by_label("Department", exact=True).select_option(A)
        page.get_by_label("Channel", exact=True).fill("phone")
        page.get_by_role("button", name="Apply").click()
        page.wait_for_url(re.compile(r"department=alpha.*channel=phone"))
        wait_for_charts(page)
        charts = drawn_charts(page)
        assert all(points > 0 for points in charts.values()), charts
        departments = page.evaluate("document.getElementById('chart-nps-by-department').data[0].y")
        channels = page.evaluate("document.getElementById('chart-nps-by-channel').data[0].y")
        assert departments == [A] and channels == ["phone"]
        expect(page.get_by_label("Department", exact=True)).to_have_value(A)
        screenshot(page, "executive-overview-filtered")
    finally:
        context.close()

    context, page = new_page(browser, viewport={"width": 390, "height": 844}, device_scale_factor=2)
    try:
        sign_in(page, live_server, Role.DEPARTMENT_HEAD, "/dashboards/department")
        assert wait_for_charts(page) > 0
        assert all(points > 0 for points in drawn_charts(page).values())
        assert "bravo" not in page.content().lower()
        expect(page.locator("#panel-causes").get_by_text("Alpha refunds are slow").first).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        screenshot(page, "department-head-phone")
    finally:
        context.close()


def _click_bar(page: Any, chart: str, group: str) -> None:
    """Click the middle of ``group``'s bar, where a person would."""
    groups = page.evaluate(f"document.getElementById('{chart}').data[0].y")
    bar = page.locator(f"#{chart} .bars .point").nth(groups.index(group))
    bar.scroll_into_view_if_needed()
    box = bar.bounding_box()
    assert box, f"no bar for {group} in {chart}"
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


def test_a_contractor_bar_and_a_source_bar_lead_to_only_their_rows(
    browser: Browser,
    sessions: sessionmaker[Session],
    live_server: str,  # noqa: F811
) -> None:
    data.seed(sessions)
    context, page = new_page(browser)
    try:
        sign_in(page, live_server, Role.EXECUTIVE, "/dashboards/executive-overview")
        wait_for_charts(page)
        _click_bar(page, "chart-nps-by-contractor", "bravo-contact-centre")
        page.wait_for_url(re.compile(r"/dashboards/department\?.*contractor=bravo-contact-centre"))
        wait_for_charts(page)
        comments = page.locator("#panel-verbatims td[data-label=comment]").all_inner_texts()
        departments = page.locator("#panel-verbatims td[data-label=department]").all_inner_texts()
        assert comments and all(c.startswith("bravo comment") for c in comments), comments
        assert set(departments) == {B}
        expect(page.get_by_label("Contractor", exact=True)).to_have_value("bravo-contact-centre")
        # The charts on that page are of the contractor's answers too.
        assert page.evaluate("document.getElementById('chart-nps-by-channel').data[0].y") == ["bravo-fax"]

        page.goto(f"{live_server}/dashboards/social-listening")
        wait_for_charts(page)
        _click_bar(page, "chart-sentiment-by-source", "reddit")
        page.wait_for_url(re.compile(r"/dashboards/social-listening\?.*source=reddit"))
        wait_for_charts(page)
        sources = page.locator("#panel-recent-mentions td[data-label=source]").all_inner_texts()
        texts = page.locator("#panel-recent-mentions td[data-label=text]").all_inner_texts()
        assert sources and set(sources) == {"reddit"}, sources
        assert all(t.startswith("bravo mention") for t in texts), texts
        expect(page.locator("#panel-mentions-vs-responses")).to_contain_text(
            "The source filter does not apply to responses."
        )

        # Without a mouse: the same places are plain links under each chart, reached with the keyboard.
        page.goto(f"{live_server}/dashboards/executive-overview")
        wait_for_charts(page)
        links = page.locator("#panel-nps-by-contractor details.bar-links")
        links.locator("summary").focus()
        page.keyboard.press("Enter")
        link = links.get_by_role("link", name="alpha-contact-centre")
        link.focus()
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"contractor=alpha-contact-centre"))
        departments = page.locator("#panel-verbatims td[data-label=department]").all_inner_texts()
        assert departments and set(departments) == {A}
    finally:
        context.close()


XSS = (
    "<script>window.__xss=1</script>",
    '<img src=x onerror="window.__xss=1;alert(1)">',
    "</script><script>window.__xss=1</script>",
)


def _send_mention(base: str, text: str, product: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEEDBACK_MENTION_SECRET_FORUM", "forum-secret")
    now = datetime.now(UTC) - timedelta(hours=2)
    item = {
        "source_id": "xss-1",
        "text": text,
        "posted_at": now.isoformat(),
        "product": product,
        "author": XSS[1],
    }
    body = json.dumps({"mentions": [item]}).encode()
    stamp = str(int(time.time()))
    answer = httpx.post(
        f"{base}/api/mentions/webhook/forum",
        content=body,
        headers={
            "X-Feedback-Timestamp": stamp,
            "X-Feedback-Signature": sign("forum-secret", stamp, body),
            "Content-Type": "application/json",
        },
    )
    assert answer.status_code == 200 and answer.json()["stored"] == 1, answer.text


def _cause_named(sessions: sessionmaker[Session], name: str, department_id: int) -> None:
    """A root cause whose name came from customers' words (a discovered cause accepted with its label as name:
    reviewed, so it is on the executives' chart of what costs the most)."""
    today = datetime.now(UTC)
    with transaction(sessions) as session:
        run = AnalysisRun(state=RunState.COMPLETE, engine="test", started_at=today, finished_at=today)
        session.add(run)
        session.flush()
        cause = Cause(
            key="candidate-1",
            name=name,
            status="active",
            origin="discovered",
            keywords=[],
            examples=[],
            department_id=department_id,
            suggested_department_id=department_id,
            label=name,
            verbatims=[XSS[2]],
            size=5,
            first_seen_at=today,
            last_seen_at=today,
        )
        session.add(cause)
        session.flush()
        monday = today.date() - timedelta(days=today.weekday())
        session.add(
            CauseLedger(
                cause_id=cause.id,
                run_id=run.id,
                period=f"{monday:%G-W%V}",
                period_start=monday,
                count=5,
                share=0.5,
                nps_points_lost=4.0,
                csat_points_lost=2.0,
                first_seen_at=today,
                last_seen_at=today,
                trend="new",
            )
        )


def test_nothing_a_customer_wrote_runs_in_any_dashboard(
    browser: Browser,
    sessions: sessionmaker[Session],
    live_server: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    department_id = factories.department(sessions, A, "Alpha Care")
    factories.survey(sessions, slug="alpha-survey", department=A)
    with transaction(sessions) as session:
        create_user(session, EMAILS[Role.ADMIN], "Ada Admin", PASSWORD, Role.ADMIN)
    for i, payload in enumerate(XSS):
        for score in (1, 9):
            answer = httpx.post(
                f"{live_server}/api/surveys/alpha-survey/responses",
                json={
                    "answers": {"nps": score, "csat": 2, "ces": 3, "comment": payload},
                    "context": {"channel": XSS[(i + 1) % 3][:64], "product": payload[:128]},
                },
            )
            assert answer.status_code == 201, answer.text
    _send_mention(live_server, XSS[0] + " " + XSS[1], XSS[2], monkeypatch)
    _cause_named(sessions, XSS[1], department_id)

    context, page = new_page(browser)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    try:
        sign_in(page, live_server, Role.ADMIN, "/dashboards")
        for name in DASHBOARDS:
            page.goto(f"{live_server}/dashboards/{name}")
            assert wait_for_charts(page) > 0
            page.wait_for_timeout(300)  # an onerror of a broken image would have fired by now
            assert page.evaluate("typeof window.__xss") == "undefined", name
            for payload in XSS if name != "executive-overview" else ():
                expect(page.locator("td:visible", has_text=payload).first).to_be_visible()
            # In charts the words are shown as text too (axis labels, legends), never as markup.
            labels = page.evaluate(
                "[...document.querySelectorAll('.js-plotly-plot text')].map(t => t.textContent).join('\\n')"
            )
            if name == "executive-overview":  # long names are wrapped on the axis: compare without spaces
                flat = re.sub(r"\s", "", labels)
                assert re.sub(r"\s", "", XSS[1]) in flat and re.sub(r"\s", "", XSS[2]) in flat, labels
            assert page.locator(".js-plotly-plot img, main img").count() == 0
            screenshot(page, f"xss-{name}")
        # Hovering a bar shows the cause's name as text.
        page.goto(f"{live_server}/dashboards/executive-overview")
        wait_for_charts(page)
        # Plotly hovers through its drag layer.
        page.locator("#chart-top-causes .bars path").first.hover(force=True)
        expect(page.locator("#chart-top-causes .hoverlayer")).to_contain_text("<img src=x onerror=")
        assert page.evaluate("typeof window.__xss") == "undefined"
        links = page.locator("a[href^='javascript']")
        assert links.count() == 0
    finally:
        context.close()
    assert dialogs == []


def test_the_page_is_drawn_quickly_and_loads_plotly_once(
    browser: Browser,
    sessions: sessionmaker[Session],
    live_server: str,  # noqa: F811
) -> None:
    data.seed(sessions)
    context, page = new_page(browser)
    scripts: list[str] = []
    page.on(
        "request", lambda request: scripts.append(request.url) if request.resource_type == "script" else None
    )
    try:
        sign_in(page, live_server, Role.ADMIN, "/dashboards/executive-overview")
        wait_for_charts(page)
        page.reload()
        wait_for_charts(page)
        drawn_ms: Any = page.evaluate("window.__chartsDrawnAt")
        assert isinstance(drawn_ms, float | int) and drawn_ms < 5000, drawn_ms
        assert page.locator("script[src*='plotly']").count() == 1  # once a page
        assert next(url for url in scripts if "plotly" in url).startswith(
            live_server + "/assets/plotly-feedback."
        )
        assert all(url.startswith(live_server) for url in scripts)
    finally:
        context.close()
