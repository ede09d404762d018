"""Screenshots of the customer's survey pages at 1280x800 and 390x844, written next to this file.

    python docs/screenshots/survey_pages.py          (needs Debian's chromium and the test extra)

Everything goes through the real interfaces: a fresh SQLite database set up with the `feedback` command
(a survey with a Portuguese translation, two invitations), `feedback serve` on a free port of 127.0.0.1,
and Chromium driven by Playwright. Each picture is the first screen a customer sees.
"""

from __future__ import annotations

import csv
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, sync_playwright

HERE = Path(__file__).resolve().parent
SIZES: dict[str, dict[str, Any]] = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True},
}
SURVEY = """
slug = "support-followup"
title = "How did we do?"
department = "support"
intro = "Two questions about your call today."
thank_you = "Thank you! We read every answer."
language = "en"

[[questions]]
key = "nps"
type = "nps"
prompt = "How likely are you to recommend us to a friend?"
required = true

[[questions]]
key = "comment"
type = "text"
prompt = "What could we do better?"
max_length = 1000

[translations.pt]
title = "Como correu?"
intro = "Duas perguntas sobre a sua chamada de hoje."
thank_you = "Obrigado! Lemos todas as respostas."

[translations.pt.questions.nps]
prompt = "Qual a probabilidade de nos recomendar a um amigo?"

[translations.pt.questions.comment]
prompt = "O que podemos melhorar?"
"""


def feedback(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(["feedback", *args], env=env, capture_output=True, text=True, check=True)
    return done.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(base: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 180  # a busy machine can take a minute to start the server
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("feedback serve stopped during startup")
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=2):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"{base}/health did not answer")


def shoot(page: Page, name: str, size: str) -> None:
    page.wait_for_load_state("networkidle")
    path = HERE / f"survey-{name}-{size}.png"
    page.screenshot(path=path)
    print(path.relative_to(HERE.parents[1]))


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = dict(
            os.environ,
            FEEDBACK_DATABASE_URL=f"sqlite:///{tmp}/screenshots.db",
            FEEDBACK_BASE_URL=base,
            FEEDBACK_SECRET_KEY="screenshots-only",
        )
        feedback(env, "db", "upgrade")
        feedback(env, "departments", "add", "support", "Customer Support")
        (Path(tmp) / "survey.toml").write_text(SURVEY)
        feedback(env, "surveys", "load", f"{tmp}/survey.toml")
        people = Path(tmp) / "people.csv"
        rows = [f"customer{i}@example.com,{lang}" for i, lang in enumerate(["", "", "pt"] * 2)]
        people.write_text("email,language\n" + "\n".join(rows) + "\n")
        feedback(env, "invitations", "import", "support-followup", str(people), "--links", f"{tmp}/links.csv")
        with open(f"{tmp}/links.csv", newline="") as links_file:
            links = [row["link"] for row in csv.DictReader(links_file)]
        server = subprocess.Popen(["feedback", "serve", "--host", "127.0.0.1", "--port", str(port)], env=env)
        try:
            wait_healthy(base, server)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path="/usr/bin/chromium",
                    args=["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"],
                )
                for number, (size, options) in enumerate(SIZES.items()):
                    fresh, clicked, portuguese = links[3 * number : 3 * number + 3]
                    context = browser.new_context(locale="en-US", **options)
                    page = context.new_page()
                    page.goto(fresh)
                    shoot(page, "form", size)
                    page.goto(f"{clicked}?nps=9")
                    page.get_by_role("status").wait_for()
                    shoot(page, "score-saved", size)
                    page.get_by_role("textbox").first.fill("Quick and friendly, thank you!")
                    page.get_by_role("button", name="Send my answers").click()
                    page.wait_for_url("**/thanks/**")
                    shoot(page, "thanks", size)
                    page.goto(clicked)
                    shoot(page, "already-answered", size)
                    page.goto(f"{portuguese}?nps=4")
                    page.get_by_role("status").wait_for()
                    shoot(page, "score-saved-portuguese", size)
                    context.close()
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
