"""A customer answers a survey in a real Chromium (Debian's /usr/bin/chromium), against the real app.

Each test runs on SQLite and on PostgreSQL (the ``database_url`` fixture). Screenshots land in
test-artifacts/browser/ at the repository root, for a person to look at.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect, sync_playwright
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from feedback.models import Answer, Question, Response
from tests import factories
from tests.live_server import live_server  # noqa: F401  (a fixture)

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
# Playwright gives each launch a new, empty --user-data-dir of its own (and refuses one passed in args).
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
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
DESKTOP: dict[str, Any] = {"viewport": {"width": 1280, "height": 900}}
COMMENT = "Quick and kind — merci, Zoë!"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Module scope: the sync API marks its event loop as running in this thread while it is open.
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium (bash tests/run does)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def link(sessions: sessionmaker[Session], live_server: str) -> str:  # noqa: F811
    """A customer's personal invitation link to the factories' survey (NPS required, comment optional)."""
    factories.survey(sessions)
    [token] = factories.invite(sessions, [{"email": "ann@example.com"}])
    return f"{live_server}/s/{token}"


def new_page(browser: Browser, **options: Any) -> tuple[BrowserContext, Page]:
    context = browser.new_context(locale="en-US", **options)
    context.set_default_timeout(10_000)
    return context, context.new_page()


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)


def stored(sessions: sessionmaker[Session]) -> list[dict[str, Any]]:
    """Every stored response as the customer would describe it."""
    with sessions() as session:
        columns = (Response.id, Response.nps, Response.via, Response.invitation_id)
        responses = session.execute(select(*columns)).all()
        comments = dict(
            session.execute(
                select(Answer.response_id, Answer.text).join(Question).where(Question.key == "comment")
            ).all()
        )
    return [
        {"nps": r.nps, "via": r.via, "invited": r.invitation_id is not None, "comment": comments.get(r.id)}
        for r in responses
    ]


def nps(page: Page) -> Locator:
    """The NPS question's radio group (other scales also have options named 1 to 7)."""
    return page.get_by_role("group", name=re.compile(r"^How likely are you to recommend us\?"))


def focused(page: Page) -> dict[str, str]:
    return dict(
        page.evaluate(
            "() => { const e = document.activeElement;"
            " return {tag: e.tagName.toLowerCase(), name: e.name || '', value: e.value || ''}; }"
        )
    )


def test_phone_keyboard_only_answer_is_stored(browser: Browser, link: str, sessions) -> None:
    context, page = new_page(browser, **PHONE)
    try:
        page.goto(link)
        # Nothing sticks out sideways on a phone; every option is a tap target at least 44 px high and
        # 24 px wide (WCAG 2.5.8; 11 NPS options on one 390 px row leave about 29 px each).
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        boxes = page.locator("label.option > span").evaluate_all(
            "spans => spans.map(s => { const r = s.getBoundingClientRect(); return [r.width, r.height]; })"
        )
        assert len(boxes) == 11 + 5 + 7 + 3 and all(w >= 24 and h >= 44 for w, h in boxes), boxes
        page.keyboard.press("Tab")
        assert focused(page) == {"tag": "input", "name": "nps", "value": "0"}
        for _ in range(8):
            page.keyboard.press("ArrowRight")  # arrows move through the group and choose
        assert focused(page) == {"tag": "input", "name": "nps", "value": "8"}
        expect(nps(page).get_by_role("radio", name="8", exact=True)).to_be_checked()
        # One Tab stop per radio group: csat, ces, reason, then the comment box.
        for name in ("csat", "ces", "reason", "comment"):
            page.keyboard.press("Tab")
            assert focused(page)["name"] == name
        assert focused(page)["tag"] == "textarea"
        page.keyboard.type(COMMENT)
        screenshot(page, "phone-before-submit")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent.trim()") == "Send my answers"
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"/thanks/support-followup\?lang=en$"))
        expect(page.locator("h1")).to_have_text("How did we do?")
        expect(page.locator(".message")).to_contain_text("Thank you")
        screenshot(page, "phone-after-submit")
    finally:
        context.close()
    assert stored(sessions) == [{"nps": 8, "via": "web", "invited": True, "comment": COMMENT}]


def test_without_javascript_missing_required_answer_is_explained_then_stored(
    browser: Browser, link: str, sessions
) -> None:
    context, page = new_page(browser, java_script_enabled=False, **DESKTOP)
    try:
        page.goto(link)
        page.get_by_role("textbox", name="What could we do better?").fill(COMMENT)
        page.get_by_role("button", name="Send my answers").click()

        summary = page.locator(".error-summary")
        expect(summary).to_be_visible()
        expect(summary).to_have_attribute("role", "alert")
        expect(summary.get_by_role("link")).to_contain_text("How likely are you to recommend us?")
        expect(summary.get_by_role("link")).to_contain_text(
            "How likely are you to recommend us? \u2013 An answer is required"
        )
        expect(summary.get_by_role("link")).to_have_attribute("href", "#q-nps")
        nps_group = nps(page)
        error = nps_group.locator(".error")  # the message sits inside the question's own fieldset
        expect(error).to_be_visible()
        expect(error).to_have_text("Error: an answer is required")
        expect(nps_group).to_have_accessible_description("Error: an answer is required")
        expect(page.locator("#q-nps")).to_have_attribute("aria-invalid", "true")
        # What the customer had typed is still there; other questions carry no error.
        expect(page.get_by_role("textbox", name="What could we do better?")).to_have_value(COMMENT)
        expect(page.locator(".error")).to_have_count(1)
        screenshot(page, "desktop-nojs-error")
        assert stored(sessions) == []

        nps(page).locator("label.option").filter(has=page.locator("input[value='7']")).click()
        expect(nps(page).get_by_role("radio", name="7", exact=True)).to_be_checked()
        page.get_by_role("button", name="Send my answers").click()
        page.wait_for_url(re.compile(r"/thanks/support-followup\?lang=en$"))
    finally:
        context.close()
    assert stored(sessions) == [{"nps": 7, "via": "web", "invited": True, "comment": COMMENT}]


def test_phone_nps_end_labels_sit_under_0_and_10(browser: Browser, link: str) -> None:
    context, page = new_page(browser, **PHONE)
    try:
        page.goto(link)
        options = nps(page).locator("label.option > span")
        zero, ten = options.first.bounding_box(), options.last.bounding_box()
        low, high = (nps(page).locator(".scale-labels > span").nth(i).bounding_box() for i in (0, 1))
    finally:
        context.close()
    assert zero and ten and low and high

    def under(label: dict[str, float], option: dict[str, float]) -> bool:
        overlaps = label["x"] < option["x"] + option["width"] and option["x"] < label["x"] + label["width"]
        return overlaps and 0 <= label["y"] - (option["y"] + option["height"]) <= 24

    assert under(low, zero), f"'Not at all likely' at {low} is not under 0 at {zero}"
    assert under(high, ten), f"'Extremely likely' at {high} is not under 10 at {ten}"


# --- accessibility ---------------------------------------------------------------------------------------


def _rgba(css: str) -> tuple[float, float, float, float]:
    numbers = [float(n) for n in re.findall(r"[\d.]+", css)]
    if css.startswith("rgba") and len(numbers) == 4:
        return numbers[0], numbers[1], numbers[2], numbers[3]
    if css.startswith("rgb(") and len(numbers) == 3:
        return numbers[0], numbers[1], numbers[2], 1.0
    raise ValueError(f"unexpected computed color {css!r}")


RGB = tuple[float, float, float]


def _over(top: tuple[float, float, float, float], below: RGB) -> RGB:
    r, g, b, a = top
    return r * a + below[0] * (1 - a), g * a + below[1] * (1 - a), b * a + below[2] * (1 - a)


def luminance(rgb: RGB) -> float:
    def channel(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: RGB, b: RGB) -> float:
    """WCAG 2 contrast ratio, 1 to 21."""
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def effective_background(backgrounds: list[str]) -> RGB:
    """Composite computed background colors, element first then its ancestors, over a white canvas."""
    color: RGB = (255.0, 255.0, 255.0)
    for css in reversed(backgrounds):
        color = _over(_rgba(css), color)
    return color


TEXT_COLORS_JS = """() => [...document.querySelectorAll('body *')].flatMap(el => {
  const hasText = [...el.childNodes].some(n => n.nodeType === Node.TEXT_NODE && n.textContent.trim());
  const box = el.getBoundingClientRect(), style = getComputedStyle(el);
  if (!hasText || box.width <= 1 || box.height <= 1 || style.visibility !== 'visible') return [];
  const backgrounds = [];
  for (let e = el; e; e = e.parentElement) backgrounds.push(getComputedStyle(e).backgroundColor);
  const cls = el.className ? '.' + String(el.className).trim().split(/\\s+/).join('.') : '';
  return [{what: el.tagName.toLowerCase() + cls, text: el.textContent.trim().slice(0, 30),
           color: style.color, backgrounds}];
})"""


def low_contrast_text(page: Page, minimum: float = 4.5) -> list[str]:
    problems = []
    for item in page.evaluate(TEXT_COLORS_JS):
        background = effective_background(item["backgrounds"])
        ratio = contrast(_over(_rgba(item["color"]), background), background)
        if ratio < minimum:
            what = f"{item['what']} {item['text']!r}"
            problems.append(f"{what}: {item['color']} on {background} = {ratio:.2f}:1")
    return problems


def unnamed_controls(page: Page) -> list[str]:
    """Radios, text boxes and buttons without an accessible name, from Chromium's own accessibility tree."""
    cdp = page.context.new_cdp_session(page)
    nodes = cdp.send("Accessibility.getFullAXTree")["nodes"]
    cdp.detach()
    controls = [n for n in nodes if n.get("role", {}).get("value") in {"radio", "textbox", "button"}]
    assert len(controls) >= 11 + 5 + 7 + 3 + 1 + 1
    return [str(n.get("role")) for n in controls if not str(n.get("name", {}).get("value", "")).strip()]


def test_accessibility_basics(browser: Browser, link: str) -> None:
    context, page = new_page(browser, **DESKTOP)
    try:
        page.goto(link)
        assert page.evaluate("document.documentElement.lang") == "en"
        expect(page.locator("h1")).to_have_count(1)
        assert page.title() == "How did we do?"

        assert unnamed_controls(page) == []
        expect(page.get_by_role("radio", name="0 (Not at all likely)", exact=True)).to_have_count(1)
        expect(page.get_by_role("radio", name="10 (Extremely likely)", exact=True)).to_have_count(1)
        expect(page.get_by_role("radio", name="Billing", exact=True)).to_have_count(1)
        expect(page.get_by_role("textbox", name="What could we do better?", exact=True)).to_have_count(1)
        required = "How likely are you to recommend us? (required)"
        expect(page.get_by_role("group", name=required, exact=True)).to_have_count(1)
        expect(page.get_by_role("button", name="Send my answers")).to_have_count(1)

        # Keyboard focus on a radio outlines its visible box (the input itself is transparent).
        page.keyboard.press("Tab")
        ring = page.evaluate("""() => {
          const s = getComputedStyle(document.activeElement.nextElementSibling);
          return {style: s.outlineStyle, width: parseFloat(s.outlineWidth), color: s.outlineColor};
        }""")
        assert ring["style"] == "solid" and ring["width"] >= 2, ring
        # WCAG 1.4.11: a focus indicator needs 3:1 against the white card around it.
        ring_contrast = contrast(_over(_rgba(ring["color"]), (255, 255, 255)), (255, 255, 255))
        assert ring_contrast >= 3, f"focus outline {ring['color']} on white is {ring_contrast:.2f}:1"

        page.keyboard.press("ArrowRight")  # a chosen option (white on blue) must read as well
        assert low_contrast_text(page) == []
        screenshot(page, "desktop-before-submit")

        page.goto(link)  # a fresh form, sent empty: the error state must read as well
        page.get_by_role("button", name="Send my answers").click()
        expect(page.locator(".error-summary")).to_be_visible()
        assert unnamed_controls(page) == []
        assert low_contrast_text(page) == []

        nps(page).get_by_role("radio", name="6", exact=True).check()
        page.get_by_role("button", name="Send my answers").click()
        page.wait_for_url(re.compile(r"/thanks/support-followup\?lang=en$"))
        expect(page.locator("h1")).to_have_count(1)
        assert low_contrast_text(page) == []
        screenshot(page, "desktop-after-submit")
    finally:
        context.close()
