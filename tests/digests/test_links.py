"""Signed action links: tampering and expiry are refused; GET changes nothing, POST acts (once)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from feedback.config import Settings
from feedback.digests.links import ActionClaim, action_links, sign, verify
from feedback.errors import Forbidden, Gone
from feedback.keys import derive_key
from feedback.models import CauseEvent, CauseFollowup
from tests.digests import data

KEY = derive_key(Settings(secret_key="test-secret"), "links")
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def token(cause: int = 5, action: str = "acknowledge", days: int = 30, key: bytes = KEY) -> str:
    return sign(key, ActionClaim(cause, action, 9, NOW + timedelta(days=days)))


def test_a_signed_link_says_what_it_was_made_for() -> None:
    claim = verify(KEY, token(), NOW)
    assert (claim.cause_id, claim.action, claim.run_id) == (5, "acknowledge", 9)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: t.replace("1.5.ack", "1.6.ack"),  # another cause
        lambda t: t.replace(".ack.", ".fix."),  # another action
        lambda t: re.sub(
            r"\.(\d+)\.([^.]+)$", lambda m: f".{int(m.group(1)) + 86400}.{m.group(2)}", t
        ),  # later
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # the signature
        lambda t: t.rsplit(".", 1)[0],  # no signature
        lambda t: "garbage",
    ],
)
def test_a_changed_link_is_refused(tamper) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Forbidden):
        verify(KEY, tamper(token()), NOW)


def test_a_link_from_another_installation_or_for_another_purpose_is_refused() -> None:
    other = derive_key(Settings(secret_key="another-secret"), "links")
    with pytest.raises(Forbidden):
        verify(KEY, token(key=other), NOW)
    with pytest.raises(Forbidden):
        verify(KEY, token(key=derive_key(Settings(secret_key="test-secret"), "session")), NOW)


def test_an_expired_link_is_gone() -> None:
    with pytest.raises(Gone, match="expired"):
        verify(KEY, token(days=1), NOW + timedelta(days=1))


def _csrf(page: str) -> str:
    match = re.search(r'name="_csrf_token" value="([^"]+)"', page)
    assert match, page
    return match.group(1)


def test_get_shows_a_form_and_changes_nothing_post_acts_once(client, sessions) -> None:
    department = data.department(sessions)
    cause = data.cause(sessions, "late-refunds", department, "Late refunds")
    settings = Settings(secret_key="test-secret", base_url="http://testserver.local")
    link = action_links(settings, cause, 3, datetime.now(UTC))["acknowledge"]
    path = link.removeprefix("http://testserver.local")
    page = client.get(path)
    again = client.get(path)  # a mail scanner following the link, twice
    assert (
        page.status_code == again.status_code == 200 and "Late refunds" in page.text and "<form" in page.text
    )
    with sessions() as session:
        assert session.scalar(select(CauseFollowup)) is None
    done = client.post(path, data={"_csrf_token": _csrf(page.text), "note": "on it"})
    assert done.status_code == 200 and "Acknowledged" in done.text
    repeat = client.post(path, data={"_csrf_token": _csrf(page.text)})
    assert "Already done: this cause is acknowledged" in repeat.text and "<form" not in repeat.text
    with sessions() as session:
        assert session.scalar(select(CauseFollowup.state)) == "acknowledged"
        events = session.scalars(select(CauseEvent).where(CauseEvent.kind == "acknowledged")).all()
    assert (
        len(events) == 1 and events[0].detail == {"note": "on it"} and "digest 3" in (events[0].actor or "")
    )


def test_the_pages_refuse_bad_links_without_acting(client, sessions) -> None:
    department = data.department(sessions)
    cause = data.cause(sessions, "late-refunds", department)
    settings = Settings(secret_key="test-secret", base_url="http://testserver.local")
    link = action_links(settings, cause, None, datetime.now(UTC))["fixed"].removeprefix(
        "http://testserver.local"
    )
    forged = link.replace(".fix.", ".ack.")
    assert client.get(forged).status_code == 403
    assert client.post(forged, data={}).status_code in (403, 403)
    expired = "/actions/" + sign(derive_key(settings, "links"), ActionClaim(cause, "fixed", None, NOW))
    answer = client.get(expired)
    assert answer.status_code == 410 and "expired" in answer.text
    with sessions() as session:
        assert session.scalar(select(CauseFollowup)) is None


def test_a_link_opened_again_says_what_was_already_done_instead_of_offering_it(client, sessions) -> None:
    department = data.department(sessions)
    cause = data.cause(sessions, "late-refunds", department, "Late refunds")
    settings = Settings(secret_key="test-secret", base_url="http://testserver.local")
    links = {
        action: url.removeprefix("http://testserver.local")
        for action, url in action_links(settings, cause, 3, datetime.now(UTC)).items()
    }
    page = client.get(links["in_progress"])
    client.post(links["in_progress"], data={"_csrf_token": _csrf(page.text), "note": "new refund queue"})
    for action in ("in_progress", "acknowledge"):  # the same link again, and one the new state makes moot
        again = client.get(links[action])
        assert again.status_code == 200 and "<form" not in again.text, action
        assert "<h1>Already done</h1>" in again.text
        said = re.search(
            r"Already done: this cause is being fixed since (\S+ \S+) UTC \(([^)]*\))\)", again.text
        )
        assert said and "digest 3" in said.group(2), again.text
        assert "Note: new refund queue" in again.text
    still = client.get(links["fixed"])  # marking it fixed is still to do
    assert "<form" in still.text and "Mark fixed?" in still.text and "Now: being fixed." in still.text
