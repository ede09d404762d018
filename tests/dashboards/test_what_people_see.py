"""What an executive and a department head see (issue 19, items 2-6), in a real Chromium at desktop and phone
sizes: headline tiles, scores a department does not collect, from a number to the customers' words, the
follow-up loop from the dashboard, reviewed causes only, charts that read well, and axe-core on every page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect
from sqlalchemy.orm import Session, sessionmaker

from feedback.models import Role
from tests.dashboards import people
from tests.dashboards.browser import browser, new_page, screenshot, sign_in, wait_for_charts
from tests.dashboards.data import EMAILS, PASSWORD, A
from tests.live_server import live_server  # noqa: F401  (a fixture)

pytestmark = pytest.mark.browser
__all__ = ["browser"]

PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
}
DESKTOP: dict[str, Any] = {"viewport": {"width": 1280, "height": 800}}
SIZES = {"desktop": DESKTOP, "phone": PHONE}


@pytest.fixture
def site(sessions: sessionmaker[Session], live_server: str) -> str:  # noqa: F811
    people.seed(sessions)
    return live_server


@pytest.fixture
def pages(browser: Browser) -> Iterator[Any]:
    opened: list[Any] = []

    def open_as(role: Role | str, base: str, path: str, size: str = "desktop") -> Page:
        context, page = new_page(browser, **SIZES[size])
        opened.append(context)
        if isinstance(role, Role):
            sign_in(page, base, role, path)
        else:  # an e-mail address of another login
            page.goto(base + path)
            page.get_by_label("E-mail").fill(role)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(base + path)
        return page

    yield open_as
    for context in opened:
        context.close()


def click_bar(page: Page, bar: Any) -> None:
    """Click where a person would: on the bar (Plotly's drag layer above it turns that into a bar click)."""
    bar.scroll_into_view_if_needed()
    box = bar.bounding_box()
    assert box, "the bar is not drawn"
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


def serious(page: Page) -> list[str]:
    """axe-core's serious and critical violations on the page, one line each."""
    result = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
        for v in result.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


# -- 2. headline numbers first ---------------------------------------------------------------------------


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_dashboards_open_with_tiles_and_say_which_scores_a_department_does_not_collect(
    site: str, pages: Any, size: str
) -> None:
    since = (datetime.now(UTC).date() - timedelta(days=27)).isoformat()  # 28 days, and 28 before them
    page = pages(Role.EXECUTIVE, site, f"/dashboards/executive-overview?department={A}&since={since}", size)
    tiles = page.locator(".tiles .tile")
    expect(tiles).to_have_count(4)
    assert [t.get_attribute("data-metric") for t in tiles.all()] == ["nps", "csat", "ces", "volume"]
    nps = page.locator(".tile[data-metric=nps]")
    text = nps.inner_text()
    assert re.search(r"n = [\d,]+", text) and "95% interval" in text, text
    assert re.search(r"[+-][\d.]+ on the 28 days before", text) and "target 20.0" in text, text
    first_tile = tiles.first.bounding_box()
    first_panel = page.locator(".panel").first.bounding_box()
    assert first_tile and first_panel and first_tile["y"] < first_panel["y"]  # tiles come first

    page.goto(f"{site}/dashboards/department?department={people.C}")
    wait_for_charts(page)
    assert [t.get_attribute("data-metric") for t in page.locator(".tiles .tile").all()] == ["csat", "volume"]
    expect(page.locator(".tiles")).to_contain_text("Charlie Delivery's surveys do not ask NPS.")
    expect(page.locator("#panel-nps-trend .empty")).to_have_text("Charlie Delivery's surveys do not ask NPS.")
    assert page.get_by_text("No data for these filters").count() == 0
    screenshot(page, f"department-csat-only-{size}")


# -- 3. from a number to the customers' words ----------------------------------------------------------------


def test_a_cause_bar_and_a_breakdown_bar_lead_to_the_comments_behind_them(site: str, pages: Any) -> None:
    page = pages(Role.EXECUTIVE, site, "/dashboards/executive-overview")
    wait_for_charts(page)
    bar = page.locator("#chart-top-causes .bars .point").first  # the bottom bar
    names = page.evaluate("document.getElementById('chart-top-causes').data[0].y")
    click_bar(page, bar)
    page.wait_for_url(re.compile(r"/causes/(alpha-refunds|bravo-refunds|charlie-late)$"))
    assert page.locator("h1").inner_text() in names
    wait_for_charts(page)

    page.goto(f"{site}/causes/alpha-refunds")
    wait_for_charts(page)
    assert page.evaluate("document.getElementById('chart-weekly').data[0].y.length") == 8  # weekly counts
    cards = page.locator("#evidence .card-item")
    expect(cards).to_have_count(25)
    times = [t.get_attribute("datetime") or "" for t in page.locator("#evidence .card-meta time").all()]
    assert times == sorted(times, reverse=True) and len(times) == 25  # newest first
    expect(cards.first).to_contain_text("[email]")  # redacted for an executive
    assert people.SECRET_EMAIL not in page.content()
    seen = set(times)
    page.get_by_role("link", name="Older comments").click()
    expect(cards).to_have_count(25)
    older = [t.get_attribute("datetime") or "" for t in page.locator("#evidence .card-meta time").all()]
    assert max(older) < min(times) and not seen & set(older)
    page.get_by_role("link", name="Older comments").click()
    expect(cards).to_have_count(people.ASSIGNED - 50)
    expect(page.get_by_role("link", name="Older comments")).to_have_count(0)

    # A bar of a breakdown: the channel's comments on the department view.
    page.goto(f"{site}/dashboards/executive-overview?department={A}")
    wait_for_charts(page)
    groups = page.evaluate("document.getElementById('chart-nps-by-channel').data[0].y")
    index = groups.index("phone")
    click_bar(page, page.locator("#chart-nps-by-channel .bars .point").nth(index))
    page.wait_for_url(re.compile(r"/dashboards/department\?.*department=alpha.*channel=phone"))
    wait_for_charts(page)
    channels = page.locator("#panel-verbatims td[data-label=channel]").all_inner_texts()
    assert channels and set(channels) == {"phone"}

    # The comments table has a cause column, and a cause filter.
    causes = page.locator("#panel-verbatims td[data-label=cause] a")
    assert causes.count() > 0 and set(causes.all_inner_texts()) == {"Alpha refunds are slow"}
    page.get_by_label("Comments about").select_option("alpha-refunds")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(re.compile(r"cause=alpha-refunds"))
    listed = page.locator("#panel-verbatims td[data-label=cause]").all_inner_texts()
    assert listed and set(listed) == {"Alpha refunds are slow"}
    causes.first.click()
    page.wait_for_url(re.compile(r"/causes/alpha-refunds$"))


# -- 4. the follow-up loop from the dashboard ----------------------------------------------------------------


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_a_head_moves_a_cause_through_the_loop_and_everyone_reads_it_in_plain_words(
    site: str, pages: Any, size: str
) -> None:
    page = pages(Role.DEPARTMENT_HEAD, site, "/causes/alpha-refunds", size)
    expect(page.locator(".followup-now")).to_have_text("Not yet reported to its department.")
    page.get_by_label("Note (optional; kept in the history)").fill("calling the payment provider")
    page.get_by_role("button", name="Acknowledge").click()
    page.wait_for_url(re.compile(r"done=acknowledge"))
    expect(page.locator(".followup-now")).to_contain_text("Acknowledged since")
    expect(page.locator(".followup-now")).to_contain_text(
        "Hal Head (dashboard): calling the payment provider"
    )
    expect(page.get_by_role("button", name="Acknowledge")).to_have_count(0)  # the state machine's rule

    page.get_by_label("Note (optional; kept in the history)").fill("new refund flow, ships Friday")
    page.get_by_role("button", name=re.compile("progress|fixing", re.I)).click()
    page.wait_for_url(re.compile(r"done=in_progress"))
    expect(page.locator(".followup-now")).to_contain_text("Being fixed since")
    expect(page.locator(".followup-now")).to_contain_text("new refund flow, ships Friday")
    history = page.locator(".history li")
    expect(history).to_have_count(2)
    expect(history.first).to_contain_text("fix started by Hal Head (dashboard)")
    expect(history.nth(1)).to_contain_text("acknowledged by Hal Head (dashboard)")

    page.goto(f"{site}/dashboards/department")
    row = page.locator("#panel-causes tr", has_text="Alpha refunds are slow")
    expect(row.locator("td[data-label=follow-up]")).to_contain_text("Being fixed since")
    expect(row.locator("td[data-label=follow-up]")).to_contain_text("new refund flow, ships Friday")
    assert "in_progress" not in page.locator("#panel-causes").inner_text()

    # An executive reads it and cannot act; the head of another department cannot even see it.
    other = pages(Role.EXECUTIVE, site, "/causes/alpha-refunds", size)
    expect(other.locator(".followup-now")).to_contain_text("Being fixed since")
    expect(other.locator("form.act")).to_have_count(0)
    stranger = pages(people.HEAD_B, site, "/dashboards/department", size)
    assert stranger.goto(f"{site}/causes/alpha-refunds").status == 404  # type: ignore[union-attr]


def test_follow_up_forms_need_the_csrf_token_and_the_right_person(site: str, client_for: Any) -> None:
    head = client_for(EMAILS[Role.DEPARTMENT_HEAD])
    form = head.get("/causes/alpha-refunds")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', form.text)
    assert token
    assert head.post("/causes/alpha-refunds/follow-up", data={"action": "fixed"}).status_code == 403
    done = head.post(
        "/causes/alpha-refunds/follow-up",
        data={"action": "fixed", "note": "done", "_csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert "Marked fixed on" in head.get("/causes/alpha-refunds").text
    bravo = head.post(
        "/causes/bravo-refunds/follow-up",
        data={"action": "acknowledge", "_csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert bravo.status_code == 404
    executive = client_for(EMAILS[Role.EXECUTIVE])
    page = executive.get("/causes/alpha-refunds")
    exec_token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert exec_token
    refused = executive.post(
        "/causes/alpha-refunds/follow-up",
        data={"action": "acknowledge", "_csrf_token": exec_token.group(1)},
        follow_redirects=False,
    )
    assert refused.status_code == 403


@pytest.fixture
def client_for(site: str) -> Iterator[Any]:
    import httpx

    clients: list[httpx.Client] = []

    def login(email: str) -> httpx.Client:
        client = httpx.Client(base_url=site, timeout=60)
        clients.append(client)
        page = client.get("/login")
        token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
        assert token
        answer = client.post(
            "/login", data={"email": email, "password": PASSWORD, "_csrf_token": token.group(1)}
        )
        assert answer.status_code in (200, 303), answer.text
        return client

    yield login
    for client in clients:
        client.close()


# -- 5. executives see reviewed causes ----------------------------------------------------------------------


def test_the_cost_chart_shows_reviewed_causes_and_an_admin_reviews_the_candidates(
    site: str, pages: Any
) -> None:
    page = pages(Role.EXECUTIVE, site, "/dashboards/executive-overview")
    wait_for_charts(page)
    names = page.evaluate("document.getElementById('chart-top-causes').data[0].y")
    assert people.CANDIDATE not in names and "Alpha refunds are slow" in names
    note = page.locator("#panel-top-causes .note.unreviewed")
    expect(note).to_have_text("1 unreviewed candidate cause not shown here until an admin reviews it.")

    admin = pages(Role.ADMIN, site, "/dashboards/executive-overview")
    wait_for_charts(admin)
    admin.locator("#panel-top-causes").get_by_role("link", name="review it").click()
    admin.wait_for_url(f"{site}/causes")
    admin.get_by_role("link", name=people.CANDIDATE).click()
    admin.wait_for_url(f"{site}/causes/candidate-7")
    expect(admin.locator("h1")).to_contain_text("unreviewed candidate")
    admin.get_by_label("Owner").select_option(A)
    admin.get_by_role("button", name="Accept as a cause").click()
    admin.wait_for_url(re.compile(r"done=accepted"))
    admin.goto(f"{site}/dashboards/executive-overview")
    wait_for_charts(admin)
    names = admin.evaluate("document.getElementById('chart-top-causes').data[0].y")
    assert names[-1] == people.CANDIDATE  # reviewed now: it costs the most, so it is at the top
    expect(admin.locator("#panel-top-causes .note.unreviewed")).to_have_count(0)


# -- 6. charts read well on a desk and a phone ------------------------------------------------------------


def test_on_a_phone_filters_fold_the_toolbar_hides_labels_stay_whole_and_comments_are_cards(
    site: str, pages: Any
) -> None:
    page = pages(Role.EXECUTIVE, site, f"/dashboards/department?department={A}", "phone")
    wait_for_charts(page)
    assert page.evaluate("document.getElementById('filter-fold').open") is False
    assert page.locator(".modebar").count() == 0
    first_panel = page.locator(".tiles").bounding_box()
    assert first_panel and first_panel["y"] < 844  # the numbers, not the filter form, on the first screen
    # Cause labels whole: every tick label inside the chart's own box.
    for chart in ("chart-cause-cost", "chart-nps-by-channel"):
        box = page.locator(f"#{chart}").bounding_box()
        assert box
        for tick in page.locator(f"#{chart} .ytick text").all():
            tick_box = tick.bounding_box()
            assert tick_box and tick_box["x"] >= box["x"] - 1, (chart, tick.text_content())
    # Comments as cards: the comment is readable without scrolling sideways.
    comment = page.locator("#panel-verbatims td[data-label=comment]").first
    comment_box = comment.bounding_box()
    assert comment_box and comment_box["x"] >= 0 and comment_box["x"] + comment_box["width"] <= 390
    assert comment.evaluate("td => getComputedStyle(td).display") == "block"
    screenshot(page, "department-phone")


def test_tiny_samples_and_none_go_last_in_grey_without_setting_the_scale(site: str, pages: Any) -> None:
    page = pages(Role.EXECUTIVE, site, f"/dashboards/executive-overview?department={A}")
    wait_for_charts(page)
    trace = page.evaluate("document.getElementById('chart-nps-by-channel').data[0]")
    order = page.evaluate("document.getElementById('chart-nps-by-channel').layout.yaxis.categoryarray")
    assert order[0] == "(none)" and set(order) == set(trace["y"])  # drawn at the bottom
    colors = dict(zip(trace["y"], trace["marker"]["color"], strict=True))
    assert colors.pop("(none)") == "#9ca3af" and len(set(colors.values())) == 1
    axis = page.evaluate("document.getElementById('chart-nps-by-channel')._fullLayout.xaxis.range")
    reliable = [x for x, y in zip(trace["x"], trace["y"], strict=True) if y != "(none)"]
    assert axis[1] < 100 and axis[1] >= max(reliable)
    labels = page.locator("#chart-nps-by-channel .ytick text").all_text_contents()
    assert any(label.startswith("(none) (n=2*)") for label in labels), labels
    assert page.locator("#chart-nps-by-channel .bars text").count() == 0  # no n= labels over error bars


def test_channel_and_product_filters_offer_the_known_values_in_any_case(site: str, pages: Any) -> None:
    page = pages(Role.EXECUTIVE, site, "/dashboards/executive-overview")
    wait_for_charts(page)
    offered = page.locator("#channels option").evaluate_all("options => options.map(o => o.value)")
    assert {"phone", "chat", "web", "courier"} <= set(offered)
    page.get_by_label("Channel", exact=True).fill("Phone")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(re.compile(r"channel=Phone"))
    wait_for_charts(page)
    expect(page.get_by_label("Channel", exact=True)).to_have_value("phone")
    # Every panel has data, but the outcomes section: this company imported no outcomes, and it says so.
    empty = page.locator(".panel:has(.empty)").all_inner_texts()
    assert all("import orders and renewals" in text for text in empty), empty
    assert page.evaluate("document.getElementById('chart-nps-by-channel').data[0].y") == ["phone"]


PAGES = (
    "/dashboards",
    "/dashboards/executive-overview",
    f"/dashboards/department?department={A}",
    f"/dashboards/department?department={people.C}",
    "/dashboards/social-listening",
    "/causes/alpha-refunds",
    "/causes/candidate-7",
    "/causes",
)


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_axe_finds_nothing_serious_on_any_dashboard_page(site: str, pages: Any, size: str) -> None:
    page = pages(Role.ADMIN, site, "/dashboards", size)
    found = {}
    for path in PAGES:
        page.goto(site + path)
        if page.locator("script.figure-data").count():
            wait_for_charts(page)
        found[path] = serious(page)
    assert found == {path: [] for path in PAGES}


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_axe_finds_nothing_serious_in_the_digest(
    browser: Browser, sessions: sessionmaker[Session], tmp_path: Path, size: str
) -> None:
    from feedback.config import Settings
    from feedback.digests.content import DigestRequest, build_digests
    from feedback.digests.render import render_digest
    from feedback.models import Department

    people.seed(sessions)
    settings = Settings(database_url="sqlite://", base_url="http://feedback.test", secret_key="test")
    end = datetime.now(UTC)
    with sessions() as session:
        departments = session.query(Department).all()
        requests = [DigestRequest(d, end - timedelta(days=7), end, 1) for d in departments]
        digests = [b.digest for b in build_digests(session, settings, requests, end)]
    context, page = new_page(browser, **SIZES[size])
    try:
        for digest in digests:
            path = tmp_path / f"{digest.department}.html"
            path.write_text(render_digest(digest, 30).html)
            page.goto(path.as_uri())
            assert serious(page) == [], digest.department
    finally:
        context.close()


CHART_PAGES = (
    "/dashboards/executive-overview",
    f"/dashboards/department?department={A}",
    "/dashboards/social-listening",
    "/causes/alpha-refunds",
)
CHART_TEXT = ".gtitle, .g-xtitle text, .g-ytitle text, .xtick text, .ytick text, .legendtext"


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_every_chart_title_axis_title_and_label_is_whole_inside_its_chart(
    site: str, pages: Any, size: str
) -> None:
    page = pages(Role.ADMIN, site, "/dashboards", size)
    width = SIZES[size]["viewport"]["width"]
    cut: list[str] = []
    for path in CHART_PAGES:
        page.goto(site + path)
        wait_for_charts(page)
        cut += page.evaluate(
            """([selector, width]) => [...document.querySelectorAll('div.chart, div.js-plotly-plot')].flatMap(
                chart => {
                  const box = chart.getBoundingClientRect();
                  return [...chart.querySelectorAll(selector)].filter(text => {
                    const r = text.getBoundingClientRect();
                    const left = Math.max(box.left, 0), right = Math.min(box.right, width);
                    return r.width > 0 && (r.left < left - 1 || r.right > right + 1
                      || r.top < box.top - 1 || r.bottom > box.bottom + 1);
                  }).map(text => `${location.pathname} ${chart.id}: "${text.textContent}"`);
                })""",
            [CHART_TEXT, width],
        )
    assert not cut, "\n".join(cut)
