"""Public survey forms against bots: the honeypot field and the too-fast-to-be-human check (web/formguard.py).

Unlike the shared ``client`` fixture (minimum time 0), these tests run the app with the real defaults.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import func, select

from feedback.config import Settings
from feedback.models import Answer, Response
from feedback.web.app import create_app
from feedback.web.formguard import STALE, TOO_FAST
from tests import factories

HTML = {"Accept": "text/html"}


def app_client(database_url: str, **changes: Any) -> TestClient[Any]:
    settings = Settings(database_url=database_url, base_url="http://testserver.local", **changes)
    return TestClient(create_app(settings), base_url="http://testserver.local")


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient[Any]]:
    with app_client(database_url) as test_client:
        yield test_client


def stamp_of(html: str) -> str:
    [stamp] = re.findall(r'name="form_stamp" value="([^"]+)"', html)
    return stamp


def stored(sessions: Any) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(Response)) or 0)


def test_the_default_minimum_is_two_seconds() -> None:
    assert Settings().form_min_seconds == 2


def test_the_public_form_has_a_honeypot_people_and_screen_readers_never_meet(client, sessions) -> None:
    survey = factories.survey(sessions)
    page = client.get(f"/p/{survey.public_key}").text
    [honeypot] = re.findall(r'<div class="hp-field" aria-hidden="true">.*?</div>', page, re.S)
    assert '<label for="hp_leave_empty">Leave this field empty</label>' in honeypot
    assert re.search(
        r'<input type="text" id="hp_leave_empty" name="hp_leave_empty" value="" tabindex="-1"', honeypot
    )
    assert 'autocomplete="off"' in honeypot
    assert re.match(r"\d{13}\.[0-9a-f]{32}$", stamp_of(page))
    css = client.get("/static/feedback.css").text
    assert re.search(r"\.hp-field \{ position: absolute !important; left: -10000px;", css)
    # A personal link is single-use already: its form has neither.
    [token] = factories.invite(sessions, [{"email": "ann@example.com"}])
    personal = client.get(f"/s/{token}").text
    assert "hp_leave_empty" not in personal and "form_stamp" not in personal


def test_a_filled_honeypot_is_thanked_and_nothing_is_stored(client, sessions) -> None:
    survey = factories.survey(sessions)
    stamp = stamp_of(client.get(f"/p/{survey.public_key}").text)
    time.sleep(2.1)  # not too fast: the honeypot alone gives the bot away
    data = {
        "nps": "10",
        "comment": "Buy cheap pills",
        "hp_leave_empty": "https://spam.example",
        "form_stamp": stamp,
    }
    answer = client.post(f"/p/{survey.public_key}", data=data, headers=HTML)
    assert answer.status_code == 200 and str(answer.url).endswith("/thanks/support-followup?lang=en")
    assert "Thank you" in answer.text
    assert stored(sessions) == 0


def test_a_form_sent_faster_than_a_person_can_is_shown_again_then_stored(client, sessions) -> None:
    survey = factories.survey(sessions)
    url = f"/p/{survey.public_key}?channel=web"
    stamp = stamp_of(client.get(url).text)
    shown = time.monotonic()  # after the stamp was made
    data = {"nps": "9", "comment": "Fast and friendly", "ctx_channel": "web", "form_stamp": stamp}
    quick = client.post(f"/p/{survey.public_key}", data=data, headers=HTML)
    assert quick.status_code == 422
    assert TOO_FAST in quick.text and 'role="alert"' in quick.text
    assert re.search(r'name="nps" value="9" checked', quick.text)  # nothing the person chose is lost
    assert "Fast and friendly</textarea>" in quick.text
    assert 'name="ctx_channel" value="web"' in quick.text
    assert stamp_of(quick.text) == stamp  # the clock keeps running from when the form was first shown
    assert stored(sessions) == 0

    time.sleep(max(0.0, 2.1 - (time.monotonic() - shown)))  # a person reading the message, then sending
    done = client.post(
        f"/p/{survey.public_key}", data={**data, "form_stamp": stamp_of(quick.text)}, follow_redirects=False
    )
    assert done.status_code == 303 and done.headers["location"] == "/thanks/support-followup?lang=en"
    with sessions() as session:
        response = session.scalars(select(Response)).one()
        assert (response.nps, response.channel) == (9, "web")
        assert session.scalar(select(Answer.text).where(Answer.text.is_not(None))) == "Fast and friendly"


def test_missing_forged_foreign_or_old_stamps_are_refused_with_a_fresh_one(database_url, sessions) -> None:
    survey = factories.survey(sessions)
    other = factories.survey(sessions, slug="other", title="Other")
    url = f"/p/{survey.public_key}"
    with app_client(database_url, form_min_seconds=0, form_max_age_s=1) as client:
        good = stamp_of(client.get(url).text)
        millis = good.split(".")[0]
        foreign = stamp_of(client.get(f"/p/{other.public_key}").text)
        for stamp in ("", "nonsense", f"{int(millis) - 60_000}.{good.split('.')[1]}", foreign):
            answer = client.post(url, data={"nps": "7", "form_stamp": stamp}, headers=HTML)
            assert answer.status_code == 422 and STALE in answer.text, stamp
            fresh = stamp_of(answer.text)
            assert fresh not in (stamp, foreign)
        time.sleep(1.1)
        old = client.post(url, data={"nps": "7", "form_stamp": good}, headers=HTML)
        assert old.status_code == 422 and STALE in old.text
        assert stored(sessions) == 0
        done = client.post(url, data={"nps": "7", "form_stamp": stamp_of(old.text)}, follow_redirects=False)
        assert done.status_code == 303 and stored(sessions) == 1


def test_the_one_click_email_link_still_stores_at_once(client, sessions) -> None:
    factories.survey(sessions)
    [token] = factories.invite(sessions, [{"email": "ann@example.com"}])
    page = client.get(f"/s/{token}?nps=9")
    assert re.search(r'name="nps" value="9" checked', page.text)
    done = client.post(f"/s/{token}", data={"nps": "9", "via": "email"}, follow_redirects=False)
    assert done.status_code == 303
    with sessions() as session:
        assert session.scalars(select(Response.via)).one() == "email"
