"""The customer's pages, as HTML: what they show, and what a submitted form stores."""

from __future__ import annotations

import re

from sqlalchemy import select

from feedback.db import transaction
from feedback.models import Response, SurveyStatus
from feedback.surveys.service import set_status
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


def test_a_clicked_score_is_stored_only_by_the_pages_own_post_and_counted_once(client, sessions) -> None:
    """A mail scanner's GET stores nothing; the page's POST stores a partial response that metrics count
    with its score and the response rate counts once; Send completes the same row."""
    from feedback.metrics.service import MetricsQuery, compute_metrics

    factories.survey(sessions)
    [token, _other] = factories.invite(sessions, [{"email": "ann@example.com"}, {"email": "bob@example.com"}])
    for _ in range(3):  # a scanner fetching the link (no JavaScript)
        scanned = client.get(f"/s/{token}?nps=2", headers=HTML)
        assert scanned.status_code == 200 and "Save my 2" in scanned.text
    with sessions() as session:
        assert session.scalars(select(Response)).all() == []

    for _ in range(2):  # the page's POST, repeated: one row
        saved = client.post(f"/s/{token}/score", data={"nps": "2", "lang": "en"}, follow_redirects=False)
        assert saved.status_code == 303 and saved.headers["location"] == f"/s/{token}"
    page = client.get(f"/s/{token}", headers=HTML)
    assert "Thanks, your 2 is saved. Anything to add?" in page.text
    assert "Sorry to hear that. What went wrong?" in page.text
    with sessions() as session:
        [partial] = session.scalars(select(Response)).all()
        assert (partial.nps, partial.complete, partial.language) == (2, False, "en")
        result = compute_metrics(session, MetricsQuery(metrics=("nps", "response_rate", "volume")))
    values = {row["metric"]: (row["value"], row["n"]) for row in result.table.iter_rows(named=True)}
    assert values == {"nps": (-100.0, 1), "volume": (1, 1), "response_rate": (50.0, 2)}
    admin = factories.bearer(factories.token(sessions))
    [listed] = client.get("/api/surveys/support-followup/responses", headers=admin).json()
    assert (listed["nps"], listed["complete"], listed["language"]) == (2, False, "en")

    done = client.post(f"/s/{token}", data={"nps": "4", "comment": "Too slow"}, follow_redirects=False)
    assert done.status_code == 303
    again = client.post(f"/s/{token}", data={"nps": "9"}, headers=HTML)
    assert again.status_code == 409 and "already answered" in again.text
    late = client.post(f"/s/{token}/score", data={"nps": "10"}, headers=HTML)
    assert late.status_code == 409
    with sessions() as session:
        [complete] = session.scalars(select(Response)).all()
        assert (complete.id, complete.nps, complete.complete) == (partial.id, 4, True)
        result = compute_metrics(session, MetricsQuery(metrics=("response_rate",)))
    assert [(r["value"], r["n"]) for r in result.table.iter_rows(named=True)] == [(50.0, 2)]


def test_a_partial_save_checks_its_answer(client, sessions) -> None:
    factories.survey(sessions)
    [token] = factories.invite(sessions, [{"email": "ann@example.com"}])
    bad = client.post(f"/s/{token}/score", data={"nps": "11"}, headers=HTML)
    assert bad.status_code == 422 and "from 0 to 10" in bad.text
    empty = client.post(f"/s/{token}/score", data={}, headers=HTML)
    assert empty.status_code == 422
    with sessions() as session:
        assert session.scalars(select(Response)).all() == []


def test_a_comment_over_the_limit_is_refused_whole_with_a_clear_422(client, sessions) -> None:
    factories.survey(sessions)
    [token] = factories.invite(sessions, [{"email": "ann@example.com"}])
    page = client.get(f"/s/{token}", headers=HTML)
    assert "maxlength" not in page.text  # pasted text is not cut by the browser; the counter tells
    assert "Up to 500 characters" in page.text
    answer = client.post(f"/s/{token}", data={"nps": "8", "comment": "z" * 501}, headers=HTML)
    assert answer.status_code == 422 and "at most 500 characters, got 501" in answer.text
    assert "z" * 501 in answer.text  # nothing they typed is lost
