"""People sign in with a password (stored as an Argon2id hash) and a CSRF-protected form."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from feedback.accounts.users import create_user
from feedback.db import transaction
from feedback.errors import InvalidInput
from feedback.models import Role, User
from tests import factories

PASSWORD = "correct horse battery staple"


def csrf(client) -> str:  # type: ignore[no-untyped-def]
    page = client.get("/login")
    match = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert match, page.text
    return match.group(1)


@pytest.fixture
def user(sessions):  # type: ignore[no-untyped-def]
    factories.department(sessions)
    with transaction(sessions) as session:
        create_user(session, "Head@Example.com", "Hana Head", PASSWORD, Role.DEPARTMENT_HEAD, "support")


def test_passwords_are_stored_as_argon2id_hashes(sessions, user) -> None:
    with sessions() as session:
        stored = session.scalars(select(User.password_hash)).one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_weak_or_incomplete_users_are_refused(sessions) -> None:
    factories.department(sessions)
    with transaction(sessions) as session, pytest.raises(InvalidInput) as info:
        create_user(session, "a@example.com", "A", "short", Role.EXECUTIVE)
    assert info.value.errors[0].field == "password"
    with transaction(sessions) as session, pytest.raises(InvalidInput) as info:
        create_user(session, "b@example.com", "B", PASSWORD, Role.DEPARTMENT_HEAD)
    assert info.value.errors[0].field == "department"


def test_sign_in_and_out(client, user) -> None:
    token = csrf(client)
    wrong = client.post(
        "/login", data={"email": "head@example.com", "password": "nope", "_csrf_token": token}
    )
    unknown = client.post(
        "/login", data={"email": "who@example.com", "password": "nope", "_csrf_token": token}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert "wrong e-mail or password" in wrong.text and "wrong e-mail or password" in unknown.text
    ok = client.post(
        "/login",
        data={"email": "HEAD@example.com", "password": PASSWORD, "next": "/somewhere", "_csrf_token": token},
        follow_redirects=False,
    )
    assert ok.status_code == 303 and ok.headers["location"] == "/somewhere"
    cookie = ok.headers["set-cookie"]
    assert "feedback_session=" in cookie and "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    out = client.post("/logout", data={"_csrf_token": token}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login"


def test_forms_without_the_csrf_token_are_refused(client, user) -> None:
    client.get("/login")
    response = client.post("/login", data={"email": "head@example.com", "password": PASSWORD})
    assert response.status_code == 403


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)"])
def test_login_never_redirects_off_site(client, user, target: str) -> None:
    response = client.post(
        "/login",
        data={"email": "head@example.com", "password": PASSWORD, "next": target, "_csrf_token": csrf(client)},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/dashboards"
