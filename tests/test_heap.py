"""A running server keeps its startup objects out of the garbage collector's full passes (feedback/heap.py):
a full collection over them took 270-420 ms on the benchmark machine, stalling every request in flight."""

from __future__ import annotations

import gc
from typing import Any

from feedback.heap import fewer_collections, startup_heap_frozen


def test_a_serving_app_has_its_startup_heap_frozen(client: Any) -> None:
    assert client.get("/health").status_code == 200
    assert gc.get_freeze_count() > 50_000  # the modules, routes and tables of the app (~330,000)


def test_the_heap_is_unfrozen_when_the_server_stops() -> None:
    gc.unfreeze()
    with startup_heap_frozen():
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0


def test_a_bulk_import_collects_less_often_and_gives_the_settings_back() -> None:
    gc.unfreeze()
    threshold = gc.get_threshold()
    with fewer_collections():
        assert gc.get_threshold()[0] == threshold[0] * 100
        assert gc.get_freeze_count() > 0  # what was loaded before is no longer walked
    assert (gc.get_threshold(), gc.get_freeze_count()) == (threshold, 0)


def test_a_bulk_import_in_a_server_leaves_its_startup_heap_frozen() -> None:
    gc.unfreeze()
    with startup_heap_frozen():
        frozen = gc.get_freeze_count()
        since = [{"n": n} for n in range(20_000)]  # made after the server froze its heap
        with fewer_collections():
            # (frozen objects that die leave the count: compare with a margin, not exactly)
            assert gc.get_freeze_count() < frozen + len(since) // 2  # not frozen again
        assert gc.get_freeze_count() > frozen - len(since) // 2  # and not unfrozen
        del since
