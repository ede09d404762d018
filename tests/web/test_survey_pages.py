"""The customer's pages, as HTML: what they show, and what a submitted form stores."""

from __future__ import annotations

import re

from sqlalchemy import select

from feedback.db import transaction
from feedback.models import Response, SurveyStatus
from feedback.services.surveys import set_status
from tests import factories

HTML = {"Accept": "text/html"}


def test_the_invitation_page_is_an_accessible_form(client, sessions) -> None:
    factories.survey(sessions)
    [token] = factories.invite(sessions, [{"email": "ann@example.com"}])
    page = client.get(f"/s/{token}")
    assert page.status_code == 200
    html = page.text
    assert '<html lang="en">' in html and html.count("<h1>") == 1
    assert 'name="viewport"' in html
    assert len(re.findall(r'type="radio" name="nps"', html)) == 11
    assert len(re.findall(r'type="radio" name="ces"', html)) == 7
    assert '<label for="q-comment"' in html and 'id="q-comment"' in html
    assert "<legend" in html and "(Not at all likely)" in html
    # One optional script (save a clicked score, count characters); the browser tests run without it too.
    assert re.findall(r"<script[^>]*>", html) == ['<script src="/static/survey.js" defer>']


def test_survey_text_is_escaped(client, sessions) -> None:
    factories.survey(sessions, title="<script>alert(1)</script>", intro='<img src=x onerror="alert(2)">')
    [token] = factories.invite(sessions, [{"email": "ann@example.com"}])
    html = client.get(f"/s/{token}").text
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html
    assert "<img src=x" not in html


def test_errors_are_shown_next_to_the_question_and_nothing_is_stored(client, sessions) -> None:
    factories.survey(sessions)
    [token] = factories.invite(sessions, [{"email": "ann@example.com"}])
    page = client.post(f"/s/{token}", data={"csat": "9", "comment": "hello <b>there</b>"}, headers=HTML)
    assert page.status_code == 422
    html = page.text
    assert 'class="error-summary" role="alert"' in html
    nps_block = html.split('<legend class="prompt">How likely')[1].split("</fieldset>")[0]
    assert "an answer is required" in nps_block
    csat_block = html.split('<legend class="prompt">How satisfied')[1].split("</fieldset>")[0]
    assert "from 1 to 5" in csat_block
    assert "hello &lt;b&gt;there&lt;/b&gt;</textarea>" in html  # what they typed is kept, escaped
    with sessions() as session:
        assert session.scalars(select(Response)).all() == []


def test_one_click_score_link_prefills_and_the_form_completes(client, sessions) -> None:
    factories.survey(sessions)
    [token] = factories.invite(sessions, [{"email": "ann@example.com"}])
    page = client.get(f"/s/{token}?nps=9")
    assert re.search(r'value="9"[^>]*checked', page.text)
    assert 'name="via" value="email"' in page.text
    done = client.post(
        f"/s/{token}", data={"nps": "9", "via": "email", "comment": "Great help"}, follow_redirects=False
    )
    assert done.status_code == 303 and done.headers["location"] == "/thanks/support-followup?lang=en"
    thanks = client.get(done.headers["location"])
    assert thanks.status_code == 200 and "Thank you" in thanks.text
    with sessions() as session:
        response = session.scalars(select(Response)).one()
        assert (response.nps, response.via) == (9, "email")


def test_used_expired_and_closed_links_explain_themselves(client, sessions) -> None:
    factories.survey(sessions)
    used, other = factories.invite(sessions, [{"email": "ann@example.com"}, {"email": "bob@example.com"}])
    assert client.post(f"/s/{used}", data={"nps": "5"}, follow_redirects=False).status_code == 303
    again = client.get(f"/s/{used}", headers=HTML)
    assert again.status_code == 409 and "already answered" in again.text
    unknown = client.get("/s/this-is-not-a-token", headers=HTML)
    assert unknown.status_code == 404 and "not valid" in unknown.text
    with transaction(sessions) as session:
        set_status(session, "support-followup", SurveyStatus.CLOSED)
    closed = client.get(f"/s/{other}", headers=HTML)
    assert closed.status_code == 410 and "closed" in closed.text


def test_public_link_carries_context_from_the_embedding_page(client, sessions) -> None:
    survey = factories.survey(sessions)
    page = client.get(f"/p/{survey.public_key}?channel=web&product=Pro%20plan&bogus=1")
    assert 'name="ctx_channel" value="web"' in page.text and "bogus" not in page.text
    [stamp] = re.findall(r'name="form_stamp" value="([^"]+)"', page.text)
    done = client.post(
        f"/p/{survey.public_key}",
        data={"nps": "10", "ctx_channel": "web", "ctx_product": "Pro plan", "form_stamp": stamp},
        follow_redirects=False,
    )
    assert done.status_code == 303
    with sessions() as session:
        response = session.scalars(select(Response)).one()
        assert (response.channel, response.product, response.invitation_id) == ("web", "Pro plan", None)
