"""`feedback demo` makes two logins for the dashboards and prints their passwords once."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from sqlalchemy.orm import Session, sessionmaker

from feedback.accounts.users import caller_for, check_password
from feedback.cli import main
from feedback.db import transaction
from feedback.models import Role


def test_demo_prints_an_executive_and_a_department_head_once(
    database_url: str, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FEEDBACK_DATABASE_URL", database_url)
    monkeypatch.setenv("FEEDBACK_BASE_URL", "http://demo.test")
    args = ["demo", "--no-serve", "--months", "1", "--responses-per-day", "5"]
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output
    assert "http://demo.test/dashboards" in first.output
    logins = dict(re.findall(r"(\S+@kestrel-home\.example)  password: (\S+)", first.output))
    assert len(logins) == 2
    with transaction(sessions) as session:
        roles = {}
        for email, password in logins.items():
            user = check_password(session, email, password)
            caller = caller_for(session, user.id)
            assert caller is not None
            roles[caller.role] = caller.scope()
    assert set(roles) == {Role.EXECUTIVE, Role.DEPARTMENT_HEAD}
    assert roles[Role.EXECUTIVE] is None and roles[Role.DEPARTMENT_HEAD] is not None
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 0 and "password:" not in again.output and "exists already" in again.output
