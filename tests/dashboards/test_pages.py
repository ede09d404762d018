"""Dashboard pages, filters in the URL and panel downloads, for each role, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
import pytest

from feedback.models import Role
from tests.dashboards import data
from tests.dashboards.data import A, B

DASHBOARDS = ("executive-overview", "department", "social-listening")
FIGURE = re.compile(
    r'<script type="application/json" class="figure-data" data-target="([^"]+)">(.*?)</script>', re.S
)


@pytest.fixture
def seeded(sessions: Any) -> None:
    data.seed(sessions)


def figures(html: str) -> dict[str, dict[str, Any]]:
    return {target: json.loads(body) for target, body in FIGURE.findall(html)}


def panel_frame(client: Any, dashboard: str, panel: str, fmt: str, query: str = "") -> pl.DataFrame:
    answer = client.get(f"/dashboards/{dashboard}/panels/{panel}.{fmt}?{query}")
    assert answer.status_code == 200, answer.text
    if fmt == "csv":
        assert answer.headers["content-type"].startswith("text/csv")
        return pl.read_csv(io.BytesIO(answer.content))
    return pl.read_parquet(io.BytesIO(answer.content))


def test_pages_need_a_login_and_come_back_after_it(client: Any, seeded: None) -> None:
    answer = client.get("/dashboards/executive-overview?channel=phone", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=%2Fdashboards%2Fexecutive-overview%3Fchannel%3Dphone"
    assert client.get("/", follow_redirects=False).headers["location"] == "/dashboards"
    assert (
        client.get("/dashboards/executive-overview/panels/nps-trend.csv", follow_redirects=False).status_code
        == 303
    )


@pytest.mark.parametrize(
    ("role", "listed"),
    [
        (Role.ADMIN, set(DASHBOARDS)),
        (Role.EXECUTIVE, set(DASHBOARDS)),
        (Role.DEPARTMENT_HEAD, {"department", "social-listening"}),
    ],
)
def test_each_role_sees_its_dashboards(client: Any, seeded: None, role: Role, listed: set[str]) -> None:
    data.login(client, role)
    index = client.get("/dashboards")
    assert index.status_code == 200
    assert set(re.findall(r'<a href="/dashboards/([a-z-]+)">', index.text)) == listed
    for name in DASHBOARDS:
        page = client.get(f"/dashboards/{name}")
        assert page.status_code == (200 if name in listed else 403), (name, page.text[:300])


def test_executives_see_every_department_with_titled_charts(client: Any, seeded: None) -> None:
    data.login(client, Role.EXECUTIVE)
    page = client.get("/dashboards/executive-overview")
    assert page.status_code == 200
    assert page.text.count('src="/assets/plotly-feedback.') == 1 and "cdn" not in page.text.lower()
    charts = figures(page.text)
    assert len(charts) == 10
    for target, figure in charts.items():
        layout = figure["layout"]
        assert (
            layout["title"]["text"] and layout["xaxis"]["title"]["text"] and layout["yaxis"]["title"]["text"]
        ), target
        assert any(trace.get("x") for trace in figure["data"]), target
    by_department = charts["chart-nps-by-department"]
    assert {"alpha", "bravo"} <= set(by_department["data"][0]["y"])
    assert by_department["data"][0]["error_x"]["array"]  # the 95% interval
    assert any(t["name"] == "target" for t in by_department["data"])
    nps = charts["chart-nps-trend"]
    assert any("95% interval" in t["name"] for t in nps["data"])  # the band
    assert any(t["name"].startswith("small sample") for t in nps["data"])  # n < 30 a week here
    assert {t["name"] for t in charts["chart-volume"]["data"]} >= {"responses", "mentions"}
    verbatims = panel_frame(client, "department", "verbatims", "parquet")
    assert verbatims.height == 30 and set(verbatims.get_column("department")) == {A, B}
    assert all(text.startswith(dept) for dept, text in verbatims.select("department", "text").rows())
    causes = charts["chart-top-causes"]["data"][0]
    assert set(causes["y"]) == {"Alpha refunds are slow", "Bravo refunds are slow"}


def test_a_department_head_sees_only_their_department_everywhere(client: Any, seeded: None) -> None:
    data.login(client, Role.DEPARTMENT_HEAD)
    for name in ("department", "social-listening"):
        page = client.get(f"/dashboards/{name}")
        assert page.status_code == 200
        assert "alpha" in page.text.lower() and B not in page.text.lower(), name
        for panel in re.findall(rf"/dashboards/{name}/panels/([a-z-]+)\.csv", page.text):
            for fmt in ("csv", "parquet"):
                frame = panel_frame(client, name, panel, fmt)
                assert B not in str(frame.rows()).lower() and B not in " ".join(frame.columns)
        assert client.get(f"/dashboards/{name}?department={B}").status_code == 403
        assert client.get(f"/dashboards/{name}/panels/volume.csv?department={B}").status_code in (403, 404)
    department = client.get("/dashboards/department").text
    assert "Alpha refunds are slow" in department and "alpha comment" in department
    assert client.get("/dashboards/executive-overview/panels/nps-trend.csv").status_code == 403


def test_filters_live_in_the_url_and_downloads_follow_them(client: Any, seeded: None) -> None:
    data.login(client, Role.ADMIN)
    today = datetime.now(UTC).date()
    since = (today - timedelta(days=20)).isoformat()
    query = f"since={since}&until={today.isoformat()}&department={A}&channel=phone"
    page = client.get(f"/dashboards/executive-overview?{query}")
    assert page.status_code == 200
    assert f'value="{since}"' in page.text and 'value="phone"' in page.text
    assert f'<option value="{A}" selected>' in page.text
    assert (
        f"/dashboards/executive-overview/panels/nps-by-channel.csv?{query.replace('&', '&amp;')}" in page.text
    )
    channels = panel_frame(client, "executive-overview", "nps-by-channel", "csv", query)
    assert channels.get_column("channel").to_list() == ["phone"]
    everything = panel_frame(client, "executive-overview", "nps-by-channel", "parquet")
    assert set(everything.get_column("channel")) == {"phone", "chat", "web", "bravo-fax"}
    departments = panel_frame(client, "executive-overview", "nps-by-department", "parquet", query)
    assert departments.get_column("department").to_list() == [A]
    assert departments.get_column("target").to_list() == [20.0]
    assert {"value", "n", "low", "high", "small_sample"} <= set(departments.columns)
    trend = panel_frame(client, "executive-overview", "nps-trend", "csv", query)
    assert trend.get_column("period").min() >= (today - timedelta(days=27)).isoformat()
    # Mentions have no channel: the panel says it ignored that filter.
    assert "The channel filter does not apply to mentions" in page.text
    bad = client.get("/dashboards/executive-overview?since=yesterday", headers={"accept": "text/html"})
    assert bad.status_code == 422 and "expected a date" in bad.text
    bad = client.get("/dashboards/executive-overview?department=nowhere", headers={"accept": "text/html"})
    assert bad.status_code == 422 and "no department" in bad.text


def test_csv_is_safe_to_open_in_a_spreadsheet(client: Any, sessions: Any, seeded: None) -> None:
    from tests.metrics.data import store

    store(
        sessions,
        [
            {
                "at": datetime.now(UTC) - timedelta(hours=1),
                "answers": {"nps": 2, "comment": '=HYPERLINK("http://evil.example")'},
                "context": {"department": A},
            }
        ],
        slug=f"{A}-survey",
    )
    data.login(client, Role.ADMIN)
    answer = client.get("/dashboards/department/panels/verbatims.csv")
    assert "'=HYPERLINK" in answer.text and "\n=HYPERLINK" not in answer.text


def test_new_data_shows_on_the_next_view(client: Any, sessions: Any, seeded: None) -> None:
    """The cached result is dropped as soon as a new response arrives (its fingerprint changed)."""
    from tests.metrics.data import store

    data.login(client, Role.ADMIN)
    assert "brand-new comment" not in client.get("/dashboards/department").text
    before = panel_frame(client, "department", "volume", "csv", f"department={A}")
    store(
        sessions,
        [
            {
                "at": datetime.now(UTC) - timedelta(minutes=5),
                "answers": {"nps": 1, "comment": "brand-new comment"},
                "context": {"department": A},
            }
        ],
        slug=f"{A}-survey",
    )
    assert "brand-new comment" in client.get("/dashboards/department").text
    after = panel_frame(client, "department", "volume", "csv", f"department={A}")
    assert after.get_column("value").sum() == before.get_column("value").sum() + 1


def test_panels_without_data_say_so_instead_of_a_blank_chart(client: Any, seeded: None) -> None:
    data.login(client, Role.ADMIN)
    page = client.get("/dashboards/executive-overview?product=nothing-like-this")
    assert page.status_code == 200
    assert "No NPS figures for these dates and filters." in page.text
    assert "chart-nps-trend" not in page.text


def test_plotly_js_is_our_partial_bundle_fingerprinted_compressed_and_cached_for_a_year(client: Any) -> None:
    import gzip

    import brotli

    from feedback.web.assets import PLOTLY, STATIC, asset_url

    url = asset_url(PLOTLY)
    raw = (STATIC / PLOTLY).read_bytes()
    assert re.fullmatch(r"/assets/plotly-feedback\.min\.[0-9a-f]{12}\.js", url)
    # Our partial bundle (docs/plotly-bundle/build.sh), not the 4.8 MB full one nor the 1.2 MB basic one.
    assert len(raw) < 1_100_000 and b"built for feedback's dashboards" in raw[:200]
    assert (STATIC / "plotly-feedback.LICENSE.txt").read_text().count("MIT") >= 1
    sizes = {}
    for encoding, decode in (("br", brotli.decompress), ("gzip", gzip.decompress), ("identity", bytes)):
        with client.stream("GET", url, headers={"Accept-Encoding": encoding}) as answer:
            assert answer.status_code == 200
            assert answer.headers.get("content-encoding", "identity") == encoding
            assert answer.headers["cache-control"] == "public, max-age=31536000, immutable"
            wire = b"".join(answer.iter_raw())
        sizes[encoding] = len(wire)
        assert decode(wire) == raw, encoding
    assert sizes["br"] < 320_000 and sizes["gzip"] < 400_000
    assert client.get("/assets/plotly-feedback.min.000000000000.js").status_code == 404  # an old fingerprint
    assert client.get("/vendor/plotly-3.0.0.min.js").status_code == 404
