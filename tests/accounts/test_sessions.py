"""Login sessions live in the database: signing out, disabling a user or a new password ends them at once."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from feedback.accounts.users import create_user
from feedback.cli import main
from feedback.db import transaction
from feedback.models import LoginSession, Role, utcnow
from feedback.web.session import SESSION_COOKIE
from tests.accounts.test_login import PASSWORD, csrf

EMAIL = "exec@example.com"
NEW_PASSWORD = "a brand new passphrase 42"


@pytest.fixture
def executive(sessions: Any) -> None:
    with transaction(sessions) as session:
        create_user(session, EMAIL, "Erin Exec", PASSWORD, Role.EXECUTIVE)


def sign_in(client: Any, password: str = PASSWORD) -> str:
    """Sign in through the form; the session cookie's value (what someone could copy)."""
    answer = client.post(
        "/login",
        data={"email": EMAIL, "password": password, "_csrf_token": csrf(client)},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return str(answer.cookies[SESSION_COOKIE])


def opens_dashboards(client: Any, cookie: str) -> bool:
    """Whether a browser holding only this session cookie gets the dashboards (not the login page)."""
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, cookie)
    answer = client.get("/dashboards", follow_redirects=False)
    if answer.status_code == 303:
        assert answer.headers["location"].startswith("/login"), answer.headers
        return False
    assert answer.status_code == 200, answer.text
    return True


def cli(database_url: str, monkeypatch: pytest.MonkeyPatch, *args: str) -> None:
    monkeypatch.setenv("FEEDBACK_DATABASE_URL", database_url)
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output


def test_a_cookie_copied_before_logout_opens_nothing_afterwards(client, executive) -> None:
    copied = sign_in(client)
    assert opens_dashboards(client, copied)
    client.cookies.set(SESSION_COOKIE, copied)
    out = client.post("/logout", data={"_csrf_token": csrf(client)}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert not opens_dashboards(client, copied)


def test_the_cookie_holds_a_random_id_and_the_table_only_its_hash(client, sessions, executive) -> None:
    first, second = sign_in(client), sign_in(client)
    assert first != second and len(first) >= 40
    with sessions() as session:
        stored = set(session.scalars(select(LoginSession.token_hash)))
    # Signing in again ends the browser's previous session.
    assert stored == {hashlib.sha256(second.encode()).hexdigest()}
    assert first not in stored and second not in stored
    assert opens_dashboards(client, second) and not opens_dashboards(client, first)


def test_an_expired_session_opens_nothing(client, sessions, executive) -> None:
    cookie = sign_in(client)
    with transaction(sessions) as session:
        session.execute(update(LoginSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert not opens_dashboards(client, cookie)


def test_use_is_recorded_as_last_seen(client, sessions, executive) -> None:
    cookie = sign_in(client)
    long_ago = utcnow() - timedelta(hours=1)
    with transaction(sessions) as session:
        session.execute(update(LoginSession).values(last_seen_at=long_ago))
    assert opens_dashboards(client, cookie)
    with sessions() as session:
        seen = session.scalars(select(LoginSession.last_seen_at)).one()
    assert seen > long_ago + timedelta(minutes=59)


Change = Callable[[str, pytest.MonkeyPatch], None]


def _disable(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    cli(database_url, monkeypatch, "users", "disable", EMAIL)


def _new_password(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    cli(database_url, monkeypatch, "users", "set-password", EMAIL, "--password", NEW_PASSWORD)


@pytest.mark.parametrize("change", [_disable, _new_password], ids=["disabled", "password-changed"])
def test_every_session_ends_when_a_user_is_disabled_or_their_password_changes(
    client, sessions, database_url, monkeypatch, executive, change: Change
) -> None:
    cookies = []
    for _ in range(2):  # two browsers
        client.cookies.clear()
        cookies.append(sign_in(client))
    assert all(opens_dashboards(client, c) for c in cookies)
    change(database_url, monkeypatch)
    assert not any(opens_dashboards(client, c) for c in cookies)
    with sessions() as session:
        assert session.scalars(select(LoginSession)).all() == []
    if change is _disable:
        refused = client.post(
            "/login", data={"email": EMAIL, "password": PASSWORD, "_csrf_token": csrf(client)}
        )
        assert refused.status_code == 401
        cli(database_url, monkeypatch, "users", "enable", EMAIL)
        assert opens_dashboards(client, sign_in(client))
    else:
        assert opens_dashboards(client, sign_in(client, NEW_PASSWORD))


def test_a_new_password_must_be_strong_and_the_user_known(database_url, monkeypatch, executive) -> None:
    monkeypatch.setenv("FEEDBACK_DATABASE_URL", database_url)
    weak = CliRunner().invoke(main, ["users", "set-password", EMAIL, "--password", "short"])
    unknown = CliRunner().invoke(main, ["users", "disable", "nobody@example.com"])
    assert weak.exit_code == 1 and "at least 12 characters" in weak.output
    assert unknown.exit_code == 1 and "no user" in unknown.output
