"""A department head of department A never sees a row of department B: every GET endpoint of the JSON API,
every dashboard page, panel download and export. Every read route of the app is checked against the tables
below (a scoping test, or public for a stated reason), so a new read route fails until it has one."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar

from feedback.models import Role
from tests import factories
from tests.dashboards import data
from tests.dashboards.data import A, B

# Each GET route of /api and requests that exercise it (own and other department's ids where it takes one).
API_CALLS: dict[str, list[str]] = {
    "/api/departments": ["/api/departments"],
    "/api/surveys": ["/api/surveys"],
    "/api/surveys/{slug:str}": [f"/api/surveys/{A}-survey", f"/api/surveys/{B}-survey"],
    "/api/surveys/{slug:str}/responses": [
        f"/api/surveys/{A}-survey/responses",
        f"/api/surveys/{B}-survey/responses",
    ],
    "/api/metrics": [
        "/api/metrics",
        "/api/metrics?by=department,channel&period=week",
        "/api/metrics?by=product,contractor",
        "/api/metrics?metric=mention_volume,mention_sentiment&by=source,department,product",
        f"/api/metrics?department={B}",
    ],
    "/api/metrics/drivers": [
        "/api/metrics/drivers?driver=channel",
        "/api/metrics/drivers?metric=csat&driver=channel",
    ],
    "/api/targets": ["/api/targets"],
    "/api/mentions": ["/api/mentions", "/api/mentions?limit=1000"],
    "/api/causes": ["/api/causes", "/api/causes?status=active,candidate,dismissed,merged,retired"],
    "/api/causes/{key:str}": [f"/api/causes/{A}-refunds", f"/api/causes/{B}-refunds"],
    "/api/causes/runs/latest": ["/api/causes/runs/latest"],
    "/api/causes/{key:str}/items": [f"/api/causes/{A}-refunds/items", f"/api/causes/{B}-refunds/items"],
    "/api/sentiment/disagreements": ["/api/sentiment/disagreements?limit=1000"],
    "/api/sentiment/unscored": [
        "/api/sentiment/unscored?kind=comment",
        "/api/sentiment/unscored?kind=mention",
    ],
    "/api/digests/runs": ["/api/digests/runs", f"/api/digests/runs?department={B}"],
    "/api/digests/deliveries": ["/api/digests/deliveries", f"/api/digests/deliveries?department={B}"],
    "/api/digests/alerts": ["/api/digests/alerts", f"/api/digests/alerts?department={B}"],
    "/api/departments/{slug:str}/digest/preview": [
        f"/api/departments/{A}/digest/preview?charts=false",
        f"/api/departments/{B}/digest/preview?charts=false",
    ],
    "/api/problems": ["/api/problems"],
    "/api/outcomes/pays": ["/api/outcomes/pays"],  # executives and admins only
    "/api/outcomes/drivers": ["/api/outcomes/drivers?field=days_late&bands=0,3"],
    "/api/problems/{cause:str}": [f"/api/problems/{A}-refunds", f"/api/problems/{B}-refunds"],
}
# Answers that show the head their own department's data (so "no B" is not "nothing at all").
OWN_DATA = {
    "/api/departments",
    "/api/surveys",
    f"/api/surveys/{A}-survey",
    f"/api/surveys/{A}-survey/responses",
    "/api/metrics?by=department,channel&period=week",
    "/api/mentions",
    "/api/causes",
    f"/api/causes/{A}-refunds",
    "/api/metrics?metric=mention_volume,mention_sentiment&by=source,department,product",
    "/api/targets",
}


# Pages and downloads, scoped by test_no_dashboard_page_or_download_shows_a_department_head_another_..
PAGE_ROUTES = {
    "/dashboards",
    "/dashboards/{name:str}",
    "/dashboards/{name:str}/panels/{file:str}",
    "/causes",
    "/causes/{key:str}",
}
# Read routes with no department data, and why.
PUBLIC_ROUTES = {
    "/": "the home page: links only",
    "/health": "liveness, no data",
    "/ready": "readiness, no data",
    "/login": "the sign-in form",
    "/actions/{token:str}": "a signed link for one cause, for whoever holds it (digests/test_links)",
    "/p/{key:str}": "a survey's public form",
    "/s/{token:str}": "a customer's own survey link",
    "/thanks/{slug:str}": "a survey's thank-you page",
    "/schema": "API documentation",
    "/schema/openapi.json": "API documentation",
    "/schema/{path:str}": "API documentation",
    "/static/{file_path:path}": "static files",
    "/assets/{file:str}": "static files (fingerprinted)",
    "/schema-assets/{file_path:path}": "API documentation's files",
    "/schema/oauth2-redirect.html": "API documentation",
}


def get_routes(app: Litestar) -> set[str]:
    return {route.path for route in app.routes if "GET" in getattr(route, "methods", set())}


@pytest.fixture
def seeded(sessions: Any) -> None:
    data.seed(sessions)


def test_every_read_route_of_the_app_has_a_scoping_test_or_is_public(client: Any) -> None:
    reads = get_routes(client.app)
    untested = reads - set(API_CALLS) - PAGE_ROUTES - set(PUBLIC_ROUTES)
    assert not untested, (
        f"read routes without a scoping test (add them to API_CALLS or PAGE_ROUTES): {untested}"
    )
    stale = (set(API_CALLS) | PAGE_ROUTES | set(PUBLIC_ROUTES)) - reads
    assert not stale, f"no such routes any more: {stale}"
    assert not set(API_CALLS) & set(PUBLIC_ROUTES) and all(r.startswith("/api") for r in API_CALLS)


def test_no_api_endpoint_shows_a_department_head_another_department(
    client: Any, sessions: Any, seeded: None
) -> None:
    head = factories.bearer(factories.token(sessions, Role.DEPARTMENT_HEAD, A))
    admin = factories.bearer(factories.token(sessions, Role.ADMIN))
    for route, urls in API_CALLS.items():
        for url in urls:
            answer = client.get(url, headers=head)
            assert answer.status_code in (200, 403, 404), (url, answer.status_code, answer.text[:300])
            if answer.status_code == 200:
                assert B not in answer.text.lower(), (route, url, answer.text[:500])
            else:  # an error that may name what was asked for, and carries no data
                assert set(answer.json()) == {"status_code", "detail", "errors"}, (url, answer.text[:300])
            if url in OWN_DATA:
                assert answer.status_code == 200 and A in answer.text.lower(), (url, answer.text[:300])
    # The same calls as an admin do show department B: the data is there to leak.
    assert B in client.get("/api/metrics?by=department", headers=admin).text
    assert B in client.get("/api/mentions", headers=admin).text


def test_no_dashboard_page_or_download_shows_a_department_head_another_department(
    client: Any, seeded: None
) -> None:
    data.login(client, Role.DEPARTMENT_HEAD)
    from feedback.dashboards.library import load_library

    index = client.get("/dashboards")
    assert index.status_code == 200 and B not in index.text.lower()

    for spec in load_library().dashboards.values():
        page = client.get(f"/dashboards/{spec.name}")
        if Role.DEPARTMENT_HEAD not in spec.audience:
            assert page.status_code == 403
            continue
        assert page.status_code == 200 and B not in page.text.lower()
        for panel in spec.panels:
            for fmt in ("csv", "parquet"):
                answer = client.get(f"/dashboards/{spec.name}/panels/{panel.id}.{fmt}")
                assert answer.status_code == 200 and B.encode() not in answer.content.lower(), (
                    spec.name,
                    panel.id,
                )

    # The cause pages: another department's cause does not exist for a head; their own shows nothing of B.
    assert client.get(f"/causes/{B}-refunds").status_code == 404
    own = client.get(f"/causes/{A}-refunds")
    assert own.status_code == 200 and B not in own.text.lower()
    candidates = client.get("/causes")
    assert candidates.status_code in (200, 403) and B not in candidates.text.lower()


# Each route that reads (or acts on) one object by its key, with department B's key in it.
PER_OBJECT = [
    ("GET", "/api/surveys/{}", f"{B}-survey"),
    ("GET", "/api/surveys/{}/responses", f"{B}-survey"),
    ("GET", "/api/causes/{}", f"{B}-refunds"),
    ("GET", "/api/departments/{}/digest/preview?charts=false", B),
    ("GET", "/api/problems/{}", f"{B}-refunds"),
    ("POST", "/api/problems/{}/acknowledge", f"{B}-refunds"),
]


@pytest.mark.parametrize(("method", "template", "key"), PER_OBJECT)
def test_another_departments_object_is_answered_as_if_it_did_not_exist(
    client: Any, sessions: Any, seeded: None, method: str, template: str, key: str
) -> None:
    head = factories.bearer(factories.token(sessions, Role.DEPARTMENT_HEAD, A))
    unknown_key = "no-such-thing"
    other = client.request(method, template.format(key), headers=head)
    unknown = client.request(method, template.format(unknown_key), headers=head)
    assert other.status_code == unknown.status_code == 404, (other.text, unknown.text)
    assert other.json()["detail"].replace(key, unknown_key) == unknown.json()["detail"]
    assert other.headers.keys() == unknown.headers.keys()
    assert B not in unknown.text.replace(unknown_key, "")  # an unknown key's answer lists no department
