"""Screenshots of what executives and department heads see, at 1280x800 and 390x844, into docs/screenshots/.

    python docs/screenshots/dashboards.py                       # makes a fresh demo first (several minutes)
    python docs/screenshots/dashboards.py --demo-db feedback.db  # or uses a copy of a demo database

Writes executive-overview, department-view, cause-page and digest, each as NAME-desktop.png (1280x800)
and NAME-phone.png (390x844, the first screen a person sees). It runs `feedback serve` on a free port of
127.0.0.1 against a copy of the demo database (with two logins of its own), and Debian's Chromium through
Playwright (/usr/bin/chromium); the digest is `feedback digest preview` of the delivery department.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

HERE = Path(__file__).resolve().parent
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]
SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
PASSWORD = "screenshots only, a long password"
EXECUTIVE = "screenshots-executive@example.com"
HEAD = "screenshots-head@example.com"
DEPARTMENT = "delivery"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def environment(workdir: Path) -> tuple[str, dict[str, str]]:
    """The base URL of a free port, and the environment of a feedback working in ``workdir``."""
    base = f"http://127.0.0.1:{_free_port()}"
    return base, {
        **os.environ,
        "FEEDBACK_DATABASE_URL": f"sqlite:///{workdir / 'feedback.db'}",
        "FEEDBACK_BASE_URL": base,
        "FEEDBACK_DATA_DIR": str(workdir),
        "BROWSER_PATH": "/usr/bin/chromium",
    }


def make_demo(workdir: Path, demo_db: Path | None, env: dict[str, str]) -> None:
    if demo_db is not None:
        shutil.copy(demo_db, workdir / "feedback.db")
        return
    subprocess.run(["feedback", "demo", "--no-serve"], cwd=workdir, env=env, check=True)


def add_logins(env: dict[str, str]) -> None:
    code = (
        "from feedback.cli.common import open_sessions\n"
        "from feedback.db import transaction\n"
        "from feedback.models import Role\n"
        "from feedback.accounts.users import create_user\n"
        "with transaction(open_sessions()) as s:\n"
        f"    create_user(s, {EXECUTIVE!r}, 'Casey Executive', {PASSWORD!r}, Role.EXECUTIVE)\n"
        f"    create_user(s, {HEAD!r}, 'Dana Delivery', {PASSWORD!r}, Role.DEPARTMENT_HEAD, {DEPARTMENT!r})\n"
    )
    subprocess.run([sys.executable, "-c", code], env=env, check=True)


def wait_healthy(base: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("feedback serve stopped")
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"{base}/health did not answer")


def sign_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/dashboards")


def _shoot(page: Page, url: str, name: str, size: str, charts: bool = True) -> None:
    page.goto(url)
    if charts and page.locator("script.figure-data").count():
        page.wait_for_selector("html[data-charts-drawn]", state="attached", timeout=60_000)
    path = HERE / f"{name}-{size}.png"
    page.screenshot(path=path)
    print(path.relative_to(HERE.parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo-db", type=Path, help="a demo SQLite database to copy (default: make one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="feedback-screenshots-") as tmp:
        workdir = Path(tmp)
        base, env = environment(workdir)
        make_demo(workdir, args.demo_db, env)
        add_logins(env)
        digest = workdir / "digest.html"
        subprocess.run(
            ["feedback", "digest", "preview", "--department", DEPARTMENT, "--output", str(digest)],
            env=env,
            check=True,
        )
        command = ["feedback", "serve", "--host", "127.0.0.1", "--port", base.rsplit(":", 1)[1]]
        server = subprocess.Popen(command, env=env, cwd=workdir)
        try:
            wait_healthy(base, server)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
                for size, viewport in SIZES.items():
                    mobile = {"is_mobile": True, "device_scale_factor": 2} if size == "phone" else {}
                    context = browser.new_context(viewport=viewport, locale="en-US", **mobile)  # type: ignore[arg-type]
                    page = context.new_page()
                    sign_in(page, base, EXECUTIVE)
                    _shoot(page, f"{base}/dashboards/executive-overview", "executive-overview", size)
                    cause = page.locator("#panel-top-causes .bar-links a").first.get_attribute("href")
                    _shoot(page, f"{base}{cause}", "cause-page", size)
                    _shoot(page, digest.as_uri(), "digest", size, charts=False)
                    context.close()
                    context = browser.new_context(viewport=viewport, locale="en-US", **mobile)  # type: ignore[arg-type]
                    page = context.new_page()
                    sign_in(page, base, HEAD)
                    _shoot(page, f"{base}/dashboards/department", "department-view", size)
                    context.close()
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
