"""The sign-in lockout holds under a burst of concurrent guesses, across workers, and locks out no one else.

Real servers (uvicorn on 127.0.0.1, as `feedback serve` runs the app) and real concurrent clients: each
thread waits at a barrier, then all send their guess at once. Only an evaluated guess can get 401 (a
refused one gets 429 before its password is looked at), so the 401s count the evaluated guesses.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from typing import Any

import httpx
import pytest

from feedback.accounts.users import create_user
from feedback.config import Rate, Settings
from feedback.db import transaction
from feedback.models import Role
from feedback.web.app import create_app
from tests import factories
from tests.live_server import bind_free_port, serve

EMAIL = "head@example.com"
PASSWORD = "correct horse battery staple"
LIMIT = 5  # FEEDBACK_LOGIN_FAILURES_ACCOUNT's default, 5/900


@pytest.fixture
def servers(database_url: str, sessions: Any) -> Iterator[Callable[..., str]]:
    """Start web workers on the test's database (each its own app, as separate processes would be)."""
    factories.department(sessions)
    with transaction(sessions) as session:
        create_user(session, EMAIL, "Hana Head", PASSWORD, Role.DEPARTMENT_HEAD, "support")
    with ExitStack() as stack:

        def start(**changes: Any) -> str:
            settings = Settings(database_url=database_url, base_url="http://127.0.0.1", **changes)
            return stack.enter_context(serve(create_app(settings), bind_free_port()))

        yield start


class Browser:
    """A sign-in form fetched once (CSRF cookie and token), then posted as often as wanted."""

    def __init__(self, base: str, forwarded_for: str | None = None) -> None:
        headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
        self.client = httpx.Client(base_url=base, headers=headers, timeout=60)
        page = self.client.get("/login")
        match = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
        assert match, page.text
        self.token = match.group(1)

    def sign_in(self, password: str, email: str = EMAIL) -> int:
        data = {"email": email, "password": password, "_csrf_token": self.token}
        return self.client.post("/login", data=data, follow_redirects=False).status_code


def burst(browsers: list[Browser], size: int) -> Counter[int]:
    """``size`` wrong passwords sent at the same moment, spread over the browsers; status codes counted."""
    start = threading.Barrier(size)

    def guess(i: int) -> int:
        start.wait()
        return browsers[i % len(browsers)].sign_in(f"wrong guess {i}")

    with ThreadPoolExecutor(max_workers=size) as pool:
        return Counter(pool.map(guess, range(size)))


@pytest.mark.parametrize("size", [60, 150])
def test_a_burst_of_wrong_passwords_gets_no_more_than_the_limit_evaluated(servers, size: int) -> None:
    base = servers()
    codes = burst([Browser(base) for _ in range(6)], size)
    assert codes == Counter({401: LIMIT, 429: size - LIMIT})
    assert Browser(base).sign_in(PASSWORD) == 429  # locked: even the right password waits


def test_workers_share_the_count(servers) -> None:
    """Two workers on one database: a burst spread over both is cut at the limit all the same."""
    first, second = servers(), servers()
    codes = burst([Browser(first), Browser(second)], 60)
    assert codes == Counter({401: LIMIT, 429: 60 - LIMIT})


def test_a_guesser_elsewhere_cannot_lock_the_user_out_of_their_own_address(servers) -> None:
    base = servers(trusted_proxies=("127.0.0.1",))  # behind a proxy: each client is its forwarded address
    attacker, user = Browser(base, "198.51.100.66"), Browser(base, "203.0.113.10")
    assert [attacker.sign_in("guess") for _ in range(LIMIT + 1)] == [401] * LIMIT + [429]
    assert attacker.sign_in(PASSWORD) == 429
    assert user.sign_in(PASSWORD) == 303
    # After a good sign-in its address is not closer to its own limit than before.
    assert [user.sign_in("typo") for _ in range(LIMIT)] == [401] * LIMIT
    assert user.sign_in(PASSWORD) == 429


def test_one_address_trying_many_accounts_is_stopped_across_accounts(servers) -> None:
    base = servers(login_failures_ip=Rate(8, 900))
    guesser = Browser(base)
    codes = [guesser.sign_in("guess", f"user{i}@example.com") for i in range(9)]
    assert codes == [401] * 8 + [429]
