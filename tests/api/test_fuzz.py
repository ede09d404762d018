"""Fuzz the JSON API from its own OpenAPI schema (schemathesis) on each database, over real HTTP.

Every check schemathesis has runs, with 0 failures allowed: every generated request (valid and invalid, odd
unicode, NUL characters, huge numbers) must get an answer the schema declares (no 5xx, a documented status
code, content type, headers and body); what the schema allows must be accepted and what it forbids refused
(enums, patterns, bounds, no unknown fields); a 405 names the allowed methods and OPTIONS lists them all.
Where a request can fit the schema and still break a rule no schema states (a department that does not exist,
answers that do not fit that survey's questions, "exactly one of"), its operation may answer 422:
BUSINESS_RULES lists each with the reason. A request carrying one of our own HOSTILE values is checked for
everything but "accepted" (the server may refuse a NUL character the schema does not mention, or a value
the spike put where the schema forbids it).
The run is deterministic (fixed seed) and bounded: FUZZ_EXAMPLES per operation and phase.
FEEDBACK_FUZZ_EXAMPLES=500 runs a longer search.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
import schemathesis
from hypothesis import strategies as st

from feedback.config import Settings
from feedback.db import make_engine, make_sessionmaker
from feedback.web.app import create_app
from tests import factories
from tests.live_server import base_url_of, bind_free_port, serve

FUZZ_EXAMPLES = int(os.environ.get("FEEDBACK_FUZZ_EXAMPLES", "12"))
SEED = 20261123
# Operations whose valid-looking requests can break a rule that no schema can state: they may answer 422.
BUSINESS_RULES = {
    "POST /api/departments": "a channel's fields depend on its kind; zones and schedules must parse",
    "GET /api/digests/runs": "the department must exist",
    "GET /api/digests/deliveries": "the department must exist",
    "GET /api/digests/alerts": "the department must exist",
    "POST /api/digests/send": "the department must exist",
    "GET /api/problems": "the state must be one of the loop's states",
    "POST /api/surveys": "questions, choices and bands (in the scale, in order) must fit together",
    "POST /api/surveys/{slug}/invitations": "an e-mail or a customer id; dates must parse",
    "POST /api/surveys/{slug}/responses": "answers must fit that survey's questions",
    "GET /api/mentions": "before_id must name a mention; dates must exist (no 30 February)",
    "GET /api/surveys/{slug}/responses": "dates must exist (no 30 February)",
    "POST /api/causes": "the cause id must be a slug and unused; the department must exist",
    "PATCH /api/causes/{key}": "the department must exist",
    "POST /api/causes/candidates/{key}/accept": "the department must exist; the new id must be unused",
    "POST /api/causes/candidates/{key}/merge": "the cause merged into must exist",
    "GET /api/metrics": "the time zone must exist; since before until; by= names a known dimension",
    "POST /api/digests/resend": "exactly one of run, department or failed_since",
    "GET /api/causes/{key}/items": "the cursor must be one this route handed out",
    "GET /api/outcomes/pays": "bands, controls and outcome fields must be declared ones",
    "GET /api/outcomes/drivers": "the field must be a declared company field; bands must be numbers",
    "POST /api/outcomes/events": "each event's customer, time, kind and amount must fit together",
    "POST /api/outcomes/identities": "an id already mapped to another person cannot move",
    "GET /api/metrics/drivers": "bands must be increasing numbers; the time zone must exist",
    "POST /api/targets": "the value must name an existing department or contractor",
    "GET /api/sentiment/disagreements": "since and until must be ISO times",
    "GET /api/sentiment/unscored": "since and until must be ISO times",
    "POST /api/privacy/erasures": "exactly one of email, customer_id or handle",
}
ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "410", "429"]
# What breaks databases and parsers; one of these replaces one value of a generated request now and then.
HOSTILE: tuple[object, ...] = (
    "\x00",
    "support\x00",
    "\u202e\u200b\ufeff",
    "\U0001f4a9" * 40,
    "",
    2**31,
    -(2**31) - 1,
    2**63,
    10**30,
    -1,
)
SURVEY = "support-followup"
CAUSE = "billing"
# Answers to the real questions of factories.survey_spec, so that submissions get past "unknown question".
ANSWERS = st.fixed_dictionaries(
    {"nps": st.integers(-1, 11)},
    optional={
        "csat": st.integers(0, 6),
        "ces": st.integers(0, 8),
        "reason": st.sampled_from(["Billing", "Delivery", "Other", "billing"]),
        "comment": st.text(max_size=600),
    },
)


def _seed(database_url: str) -> tuple[str, list[str]]:
    """A department, a survey with invitations; an admin token and the invitations' tokens."""
    engine = make_engine(database_url)
    try:
        sessions = make_sessionmaker(engine)
        factories.survey(sessions)
        links = factories.invite(
            sessions, [{"email": f"c{i}@example.com", "channel": "phone"} for i in range(40)]
        )
        return factories.token(sessions), links
    finally:
        engine.dispose()


Path = tuple[str | int, ...]


def _leaves(value: object, path: Path = ()) -> Iterator[Path]:
    """Paths to the text and number values inside a request part (nested dicts and lists)."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, (*path, index))
    elif isinstance(value, str | int | float) and not isinstance(value, bool):
        yield path


def _replaced(value: Any, path: Path, new: object) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: _replaced(value[head], rest, new)}
    return [_replaced(item, rest, new) if i == head else item for i, item in enumerate(value)]


def spiked(value: Any, hostile: tuple[object, ...] = HOSTILE) -> st.SearchStrategy[Any]:
    """The generated value, or a copy with one of its leaves replaced by a hostile one."""
    paths = list(_leaves(value))
    if not paths:
        return st.just(value)
    swap = st.tuples(st.sampled_from(paths), st.sampled_from(hostile))
    return st.just(value) | swap.map(lambda change: _replaced(value, *change))


def add_hostile_values(schema: Any) -> None:
    """Generated queries, path parameters and JSON bodies sometimes carry a hostile value."""

    @schema.hook
    def before_generate_query(_: Any, strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        return strategy.flatmap(spiked)

    @schema.hook
    def before_generate_path_parameters(_: Any, strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        # An empty segment is another route (/api/surveys/ lists surveys), not odd input for this one.
        return strategy.flatmap(lambda path: spiked(path, tuple(v for v in HOSTILE if v != "")))

    @schema.hook
    def map_case(_: Any, case: schemathesis.Case) -> schemathesis.Case:
        # Every phase starts from empty answers, which are refused before anything is stored: answer instead.
        submission = case.method == "POST" and case.path.endswith("/responses")
        if submission and isinstance(case.body, dict) and case.body.get("answers") == {}:
            case.body = {**case.body, "answers": {"nps": 7, "comment": "The refund took \U0001f40c weeks"}}
        return case

    @schema.hook
    def before_generate_body(context: Any, strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        operation = context.operation
        if operation.method.upper() == "POST" and operation.path.endswith("/responses"):
            strategy = strategy.flatmap(
                lambda body: (
                    st.just(body)
                    | ANSWERS.map(lambda answers: {"answers": answers})
                    | ANSWERS.map(lambda answers: {**body, "answers": answers})
                    if isinstance(body, dict)
                    else st.just(body)
                )
            )
        return strategy.flatmap(spiked)


def fuzz_config(token: str, links: list[str], examples: int = FUZZ_EXAMPLES) -> schemathesis.Config:
    """Checks, bounds and seed; path parameters and department names often name things that exist."""
    known = {
        "surveys": [SURVEY],
        "causes": [CAUSE],
        "departments": ["support"],
        "no": ["false"],
        "links": links,
    }
    bindings = {
        "path.slug": "surveys",
        "path.key": "causes",
        "path.cause": "causes",
        "body.token": "links",
        "body.department": "departments",
        "body.value": "departments",
        "body.context.department": "departments",
        "body.invitations[*].department": "departments",
    }
    return schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "headers": {"Authorization": f"Bearer {token}"},
            "generation": {
                "max-examples": examples,
                "deterministic": True,
            },
            "phases": {"stateful": {"enabled": False}},
            "operations": [
                {
                    "include-name": name,
                    "checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED, "422"]}},
                }
                for name in BUSINESS_RULES
            ],
            "checks": {"positive_data_acceptance": {"expected-statuses": ACCEPTED}},
            "dictionaries": {name: {"values": values} for name, values in known.items()},
            "parameters": {
                **{key: {"dictionary": name, "probability": 0.5} for key, name in bindings.items()},
                # A digest preview with charts starts a browser for seconds: fuzz the rest of it.
                "query.charts": {"dictionary": "no", "probability": 1.0},
            },
        }
    )


@pytest.fixture
def api_schema(database_url: str) -> Iterator[Any]:
    """The live app's own schema, loaded over HTTP, with an admin token and a few things to find."""
    token, links = _seed(database_url)
    sock = bind_free_port()
    settings = Settings(database_url=database_url, base_url=base_url_of(sock), digest_charts=False)
    with serve(create_app(settings), sock, timeout=60) as base:  # a busy machine starts slowly
        auth = {"Authorization": f"Bearer {token}"}
        cause = {"id": CAUSE, "name": "Billing errors", "department": "support", "keywords": ["invoice"]}
        assert httpx.post(f"{base}/api/causes", json=cause, headers=auth).status_code == 201
        schema = schemathesis.openapi.from_url(
            f"{base}/schema/openapi.json", config=fuzz_config(token, links)
        )
        add_hostile_values(schema)
        yield schema.include(path_regex="^/api/")


schema = schemathesis.pytest.from_fixture("api_schema")


def carries_hostile_value(case: schemathesis.Case) -> bool:
    """Whether one of HOSTILE's values is in the request (a query, path parameters, a JSON body)."""

    def values(item: object) -> Iterator[object]:
        if isinstance(item, Mapping):
            for child in item.values():
                yield from values(child)
        elif isinstance(item, list):
            for child in item:
                yield from values(child)
        else:
            yield item

    path = [unquote(v) if isinstance(v, str) else v for v in values(case.path_parameters)]
    found = [*values(case.query), *path, *values(case.body)]
    return any(type(v) is type(h) and v == h for v in found for h in HOSTILE)


@schema.parametrize()
def test_every_answer_is_declared_and_none_is_a_server_error(case: schemathesis.Case) -> None:
    from schemathesis.specs.openapi.checks import positive_data_acceptance

    excluded = [positive_data_acceptance] if carries_hostile_value(case) else None
    case.call_and_validate(excluded_checks=excluded)
