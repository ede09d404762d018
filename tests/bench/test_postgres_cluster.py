"""The benchmarks' PostgreSQL commits as a production server does; the tests' does not need to."""

from __future__ import annotations

import sys
from pathlib import Path

import psycopg
import pytest

from tests.conftest import BACKENDS
from tests.pg_cluster import PgCluster

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from bench_invitations import Postgres

pytestmark = pytest.mark.skipif("postgresql" not in BACKENDS, reason="PostgreSQL (FEEDBACK_TEST_BACKENDS)")

DURABILITY = ("fsync", "full_page_writes", "synchronous_commit")


def _settings(url: str) -> dict[str, str]:
    with psycopg.connect(f"{url}/postgres") as connection:
        return {name: str(connection.execute(f"SHOW {name}").fetchone()[0]) for name in DURABILITY}  # type: ignore[index]


def test_the_benchmarks_cluster_syncs_every_commit_to_disk() -> None:
    bench = Postgres()
    try:
        assert _settings(bench.base) == {"fsync": "on", "full_page_writes": "on", "synchronous_commit": "on"}
    finally:
        bench.stop()


def test_the_tests_cluster_skips_the_syncs() -> None:
    cluster = PgCluster()
    try:
        assert _settings(cluster.start())["fsync"] == "off"
    finally:
        cluster.stop()
