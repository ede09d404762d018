"""The objects a process builds at startup, kept out of the garbage collector's full passes.

A web worker holds ~330,000 objects the cycle collector tracks once its app is built (modules, routes,
SQLAlchemy's tables, TextBlob's lexicon), the response writer's child ~220,000. A full (generation 2)
collection walks all of them: 270-420 ms on the 2-core machine of docs/benchmarks.md, during which that
process's event loop or writer stands still, holding every request in flight; a few such pauses a minute
were the p99 of the submission benchmark. Frozen (``gc.freeze``), they are skipped by every collection;
what the process allocates later is collected as before.

A bulk import makes millions of short-lived tuples: ``fewer_collections`` spares it most collections.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


def freeze_startup_heap() -> None:
    """From now on, collections skip every object that exists now (for a process that ends with the
    server)."""
    gc.freeze()


@contextmanager
def startup_heap_frozen() -> Iterator[None]:
    """``freeze_startup_heap`` for the duration (a server's life); unfreeze after, so that objects a
    stopped server leaves behind (an app in a test process) can be collected again."""
    freeze_startup_heap()
    try:
        yield
    finally:
        gc.unfreeze()


@contextmanager
def fewer_collections() -> Iterator[None]:
    """For a bulk import: its rows are millions of short-lived tuples, and every 700 of them set off a
    collection that also walks what was alive before. Freeze that (unless a server froze its startup heap
    already: that stays frozen), and collect the young objects 100 times less often; the caller's settings
    come back after. For a process doing one import at a time (a command), not a server's request."""
    threshold = gc.get_threshold()
    freeze_here = gc.get_freeze_count() == 0
    if freeze_here:
        gc.freeze()
    gc.set_threshold(threshold[0] * 100, *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        if freeze_here:
            gc.unfreeze()
