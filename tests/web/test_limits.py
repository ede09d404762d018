"""Limits on hostile input, through real HTTP: body sizes (413), rate limits (429 + Retry-After, then open
again), sign-in lockout, the client address behind proxies, and the CLI's file size limit."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from litestar.testing import TestClient
from sqlalchemy import func, select, update

from feedback.accounts.users import create_user
from feedback.cli import main
from feedback.config import Rate, Settings
from feedback.db import transaction
from feedback.mentions.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from feedback.models import Invitation, LoginThrottle, Mention, Response, Role
from feedback.web.app import create_app
from feedback.web.limits import client_address
from tests import factories
from tests.live_server import bind_free_port, serve

HTML = {"Accept": "text/html"}
PASSWORD = "correct horse battery staple"
MakeClient = Callable[..., TestClient[Any]]


@pytest.fixture
def make_client(database_url: str) -> Iterator[MakeClient]:
    """A TestClient on an app with some settings changed (the others as in production)."""
    with ExitStack() as stack:

        def make(**changes: Any) -> TestClient[Any]:
            settings = Settings(database_url=database_url, base_url="http://testserver.local", **changes)
            client = TestClient(create_app(settings), base_url="http://testserver.local")
            return stack.enter_context(client)

        yield make


def count(sessions: Any, model: Any) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def stamp_of(html: str) -> str:
    [stamp] = re.findall(r'name="form_stamp" value="([^"]+)"', html)
    return stamp


# --- body sizes -------------------------------------------------------------------------------------------


def test_an_oversized_body_gets_413_naming_the_limit_and_stores_nothing(make_client, sessions) -> None:
    client = make_client(max_body_bytes=10_000)
    survey = factories.survey(sessions)
    big_json = json.dumps({"answers": {"nps": 9, "comment": "x" * 20_000}})
    api = client.post(
        "/api/surveys/support-followup/responses",
        content=big_json,
        headers={"Content-Type": "application/json"},
    )
    assert api.status_code == 413
    assert api.headers["content-type"].startswith("application/json")
    assert api.json()["detail"] == (
        "the request body is too large: at most 10,000 bytes (9.76562 KiB) are accepted here"
    )

    # Sent in chunks without a Content-Length: counted as it arrives, refused the same way.
    def chunks() -> Iterator[bytes]:
        for _ in range(20):
            yield b"x" * 1000

    streamed = client.post(
        "/api/surveys/support-followup/responses",
        content=chunks(),
        headers={"Content-Type": "application/json"},
    )
    assert streamed.status_code == 413 and "10,000 bytes" in streamed.json()["detail"]

    page = client.post(f"/p/{survey.public_key}", data={"nps": "9", "comment": "y" * 20_000}, headers=HTML)
    assert page.status_code == 413
    assert page.headers["content-type"].startswith("text/html")
    assert "at most 10,000 bytes" in page.text
    assert count(sessions, Response) == 0


def test_bulk_endpoints_take_their_own_larger_limit(make_client, sessions, monkeypatch) -> None:
    client = make_client(bulk_max_body_bytes=2_000_000)
    factories.survey(sessions)
    admin = factories.bearer(factories.token(sessions))
    invitations = [
        {"email": f"customer{i:05d}@example.com", "interaction_id": f"call-{i:06d}", "channel": "phone"}
        for i in range(10_000)
    ]
    body = json.dumps({"invitations": invitations})
    assert 256 * 1024 < len(body) < 2_000_000  # the documented 10,000 do not fit the general limit
    answer = client.post(
        "/api/surveys/support-followup/invitations",
        content=body,
        headers={**admin, "Content-Type": "application/json"},
    )
    assert answer.status_code == 201, answer.text[:500]
    assert count(sessions, Invitation) == 10_000

    monkeypatch.setenv("FEEDBACK_MENTION_SECRET_REVIEWS", "webhook-test-secret")
    items = [
        {
            "source_id": f"r{i}",
            "text": f"review {i}: " + "the parcel came late " * 40,
            "posted_at": "2026-11-20",
        }
        for i in range(400)
    ]
    payload = json.dumps({"mentions": items}).encode()
    assert len(payload) > 256 * 1024
    stamp = str(int(time.time()))
    headers = {
        TIMESTAMP_HEADER: stamp,
        SIGNATURE_HEADER: sign("webhook-test-secret", stamp, payload),
        "Content-Type": "application/json",
    }
    ok = client.post("/api/mentions/webhook/reviews", content=payload, headers=headers)
    assert ok.status_code == 200, ok.text[:500]
    assert count(sessions, Mention) == 400

    too_big = json.dumps({"invitations": invitations * 3}).encode()
    refused = client.post(
        "/api/surveys/support-followup/invitations",
        content=too_big,
        headers={**admin, "Content-Type": "application/json"},
    )
    assert refused.status_code == 413
    assert "at most 2,000,000 bytes (1.90735 MiB)" in refused.json()["detail"]
    assert count(sessions, Invitation) == 10_000


def test_a_cli_import_above_the_file_limit_is_refused(database_url, sessions, tmp_path, monkeypatch) -> None:
    factories.survey(sessions)
    people = tmp_path / "people.csv"
    people.write_text("email\n" + "".join(f"c{i}@example.com\n" for i in range(20)))
    monkeypatch.setenv("FEEDBACK_DATABASE_URL", database_url)
    monkeypatch.setenv("FEEDBACK_MAX_IMPORT_BYTES", "100")
    result = CliRunner().invoke(main, ["invitations", "import", "support-followup", str(people)])
    assert result.exit_code == 1
    size = people.stat().st_size
    assert f"{people} has {size:,} bytes, more than the 100 an import may have" in result.output
    assert "FEEDBACK_MAX_IMPORT_BYTES" in result.output
    assert count(sessions, Invitation) == 0

    monkeypatch.setenv("FEEDBACK_MAX_IMPORT_BYTES", str(size))
    result = CliRunner().invoke(main, ["invitations", "import", "support-followup", str(people)])
    assert result.exit_code == 0, result.output
    assert count(sessions, Invitation) == 20


def test_a_csv_value_beyond_the_csv_field_limit_is_a_line_error(
    database_url, sessions, tmp_path, monkeypatch
):
    factories.survey(sessions)
    people = tmp_path / "people.csv"
    people.write_text("email,agent\na@example.com,Ann\nb@example.com," + "B" * 200_000 + "\n")
    monkeypatch.setenv("FEEDBACK_DATABASE_URL", database_url)
    result = CliRunner().invoke(main, ["invitations", "import", "support-followup", str(people)])
    assert result.exit_code == 1
    assert "line 3: not readable as CSV: field larger than field limit" in result.output
    assert count(sessions, Invitation) == 0


# --- rate limits ------------------------------------------------------------------------------------------


def test_survey_pages_are_limited_per_client_then_open_again(make_client, sessions) -> None:
    client = make_client(rate_survey_ip=Rate(3, 1), form_min_seconds=0)
    survey = factories.survey(sessions)
    [token] = factories.invite(sessions, [{"email": "ann@example.com"}])
    assert [client.get(f"/p/{survey.public_key}").status_code for _ in range(3)] == [200, 200, 200]

    refused = client.get(f"/p/{survey.public_key}", headers=HTML)
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "1"
    assert "too many requests from your network; please try again in 1 seconds" in refused.text
    # The same client's personal link shares the budget (POST); a JSON client gets the same in JSON.
    answer = client.post(f"/s/{token}", data={"nps": "9"})
    assert answer.status_code == 429 and answer.json()["status_code"] == 429
    assert count(sessions, Response) == 0

    time.sleep(float(refused.headers["retry-after"]))
    page = client.get(f"/p/{survey.public_key}")
    assert page.status_code == 200
    done = client.post(
        f"/p/{survey.public_key}",
        data={"nps": "9", "form_stamp": stamp_of(page.text)},
        follow_redirects=False,
    )
    assert done.status_code == 303 and count(sessions, Response) == 1


@pytest.fixture
def served(database_url: str) -> Iterator[Callable[..., str]]:
    """The app under uvicorn on 127.0.0.1 (as `feedback serve` runs it), with some settings changed."""
    with ExitStack() as stack:

        def start(**changes: Any) -> str:
            sock = bind_free_port()
            settings = Settings(database_url=database_url, base_url="http://127.0.0.1", **changes)
            return stack.enter_context(serve(create_app(settings), sock))

        yield start


def test_forwarded_for_counts_only_behind_a_trusted_proxy(served, sessions) -> None:
    survey = factories.survey(sessions)
    path = f"/p/{survey.public_key}"

    direct = served(rate_survey_ip=Rate(2, 60))
    # Not behind a proxy we trust: a client cannot make itself many clients with a header.
    codes = [
        httpx.get(direct + path, headers={"X-Forwarded-For": f"198.51.100.{i}"}).status_code for i in range(3)
    ]
    assert codes == [200, 200, 429]

    proxied = served(rate_survey_ip=Rate(2, 60), trusted_proxies=("127.0.0.1",))
    # Behind a trusted proxy, each client is the address the proxy saw (the last hop it appended).
    spoofed = "203.0.113.9, 198.51.100.7"
    codes = [httpx.get(proxied + path, headers={"X-Forwarded-For": spoofed}).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    other = httpx.get(proxied + path, headers={"X-Forwarded-For": "203.0.113.9, 198.51.100.8"})
    assert other.status_code == 200


def test_answers_to_one_public_survey_are_limited_across_clients(served, sessions) -> None:
    survey = factories.survey(sessions)
    base = served(rate_survey=Rate(2, 60), trusted_proxies=("127.0.0.1",), form_min_seconds=0)
    url = f"{base}/p/{survey.public_key}"
    codes = []
    for i in range(3):
        client = {"X-Forwarded-For": f"198.51.100.{i}"}
        page = httpx.get(url, headers=client)
        codes.append(
            httpx.post(url, data={"nps": "8", "form_stamp": stamp_of(page.text)}, headers=client).status_code
        )
    assert codes == [303, 303, 429]
    assert count(sessions, Response) == 2


def test_mention_webhooks_are_limited_per_source_and_client(make_client, sessions, monkeypatch) -> None:
    monkeypatch.setenv("FEEDBACK_MENTION_SECRET_REVIEWS", "webhook-test-secret")
    client = make_client(rate_webhook=Rate(2, 1))
    payload = json.dumps({"mentions": [{"source_id": "r1", "text": "late again", "posted_at": "2026-11-20"}]})

    def send(source: str) -> httpx.Response:
        stamp = str(int(time.time()))
        headers = {
            TIMESTAMP_HEADER: stamp,
            SIGNATURE_HEADER: sign("webhook-test-secret", stamp, payload.encode()),
        }
        return client.post(f"/api/mentions/webhook/{source}", content=payload, headers=headers)

    assert [send("reviews").status_code for _ in range(2)] == [200, 200]
    refused = send("reviews")
    assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
    assert refused.json()["detail"] == "too many webhook requests; please try again in 1 seconds"
    assert send("twitter").status_code == 401  # another source has its own budget (and no secret here)
    time.sleep(1)
    assert send("reviews").json() == {"received": 1, "stored": 0, "duplicates": 1}


# --- sign-in ----------------------------------------------------------------------------------------------


def _login(client: TestClient[Any], email: str, password: str) -> httpx.Response:
    page = client.get("/login")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert token, page.text
    data = {"email": email, "password": password, "_csrf_token": token.group(1)}
    return client.post("/login", data=data, follow_redirects=False)


def test_an_account_is_locked_after_failed_sign_ins_even_for_the_right_password(
    make_client, sessions
) -> None:
    client = make_client(login_failures_account=Rate(3, 60))
    factories.department(sessions)
    with transaction(sessions) as session:
        create_user(session, "head@example.com", "Hana Head", PASSWORD, Role.DEPARTMENT_HEAD, "support")

    assert [_login(client, "head@example.com", "guess").status_code for _ in range(3)] == [401, 401, 401]
    locked = _login(client, "Head@Example.com", PASSWORD)
    assert locked.status_code == 429
    assert 1 <= int(locked.headers["retry-after"]) <= 60
    assert "Too many failed sign-ins. Please try again in 1 minute." in locked.text
    assert "feedback_session" not in locked.cookies

    # The window ends (moved, not waited for: three Argon2 checks take seconds on a busy machine).
    with transaction(sessions) as session:
        session.execute(update(LoginThrottle).values(window_end=datetime.now(UTC)))
    ok = _login(client, "head@example.com", PASSWORD)
    assert ok.status_code == 303 and ok.headers["location"] == "/dashboards"


def test_one_address_guessing_many_accounts_is_locked_out(make_client, sessions) -> None:
    client = make_client(login_failures_ip=Rate(4, 60))
    factories.department(sessions)
    with transaction(sessions) as session:
        create_user(session, "head@example.com", "Hana Head", PASSWORD, Role.DEPARTMENT_HEAD, "support")
    codes = [_login(client, f"user{i}@example.com", "guess").status_code for i in range(4)]
    assert codes == [401, 401, 401, 401]
    assert _login(client, "head@example.com", PASSWORD).status_code == 429


# --- who the client is ------------------------------------------------------------------------------------


def _scope(peer: str, *forwarded: str) -> Any:
    return {"client": (peer, 5000), "headers": [(b"x-forwarded-for", f.encode()) for f in forwarded]}


def test_client_address_believes_only_trusted_proxies() -> None:
    import ipaddress

    proxies = [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("192.0.2.1/32")]
    assert client_address(_scope("198.51.100.4", "1.2.3.4"), proxies) == "198.51.100.4"
    assert client_address(_scope("198.51.100.4", "1.2.3.4"), []) == "198.51.100.4"
    assert client_address(_scope("10.1.2.3", "1.2.3.4, 198.51.100.4"), proxies) == "198.51.100.4"
    # Two proxies of ours (a load balancer, then nginx): the client is the hop before both.
    assert client_address(_scope("10.1.2.3", "1.2.3.4, 198.51.100.4, 192.0.2.1"), proxies) == "198.51.100.4"
    # Several headers count as one list; a trusted proxy without the header: the proxy itself.
    assert client_address(_scope("10.1.2.3", "1.2.3.4", "198.51.100.5"), proxies) == "198.51.100.5"
    assert client_address(_scope("10.1.2.3"), proxies) == "10.1.2.3"
    # IPv6 clients count per /64 (one customer's network), IPv4-mapped addresses as IPv4.
    assert client_address(_scope("2001:db8:1:2:aaaa::1"), []) == "2001:db8:1:2::/64"
    assert client_address(_scope("::ffff:198.51.100.4"), []) == "198.51.100.4"


def test_bad_rate_settings_name_the_variable(monkeypatch) -> None:
    monkeypatch.setenv("FEEDBACK_RATE_SURVEY_IP", "lots")
    with pytest.raises(ValueError, match="FEEDBACK_RATE_SURVEY_IP='lots': expected COUNT/SECONDS"):
        Settings()
    monkeypatch.setenv("FEEDBACK_RATE_SURVEY_IP", "0")
    assert Settings().rate_survey_ip.count == 0  # no limit
