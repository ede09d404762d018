"""The response writer: stores queued submissions in batches (group commit).

A request waits for its own outcome, so it is answered only once its row is durable; many requests
share one transaction and one fsync, which is what lifts a write path above ~1,000 commits/s.

Where the batches are stored:

- ``process`` (the default for a database on disk or on a server): a child process of its own runs
  ``store_batch`` (checks, sentiment, inserts, commit), so that work runs on another core than the web
  server's event loop instead of competing with it for one interpreter lock; when no request waits it
  scores what an earlier version left unscored (responses/scoring.py). Submissions go to it
  through a pipe and outcomes come back the same way; a request is answered only after the child has
  committed its row. Should the child die, the requests it held get ServiceUnavailable (a retry with
  the same Idempotency-Key is safe: either the first attempt was committed and is replayed, or it was
  not and is stored now) and a new child takes over.
- ``thread``: a thread of the web server's process (an in-memory database cannot be shared with a
  child; also chosen with FEEDBACK_WRITER=thread, Settings.writer).

The child comes from multiprocessing's forkserver, so like any spawned child it imports the parent's
``__main__`` module first: a script that creates the app must keep its work under
``if __name__ == "__main__":`` (the ``feedback`` command, uvicorn and pytest do). It ignores Ctrl+C (the
server stops it after draining) and ends when the web process closes its pipe.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import queue
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.reduction import ForkingPickler
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session, sessionmaker

from feedback.errors import FeedbackError, FieldError, InvalidInput, ServiceUnavailable
from feedback.heap import freeze_startup_heap
from feedback.responses.scoring import CommentScorer
from feedback.responses.store import Outcome, Stored, SurveyCache, store_batch
from feedback.responses.submissions import Submission

log = logging.getLogger(__name__)

_Waiter = tuple[asyncio.AbstractEventLoop, "asyncio.Future[Stored]"]
_Item = tuple[Submission, _Waiter]
_Settled = tuple["asyncio.Future[Stored]", Outcome | BaseException]
_STOP = None


def _settle_on_loop(pairs: list[_Settled]) -> None:
    for future, outcome in pairs:
        if future.done():  # cancelled: nobody waits for it any more
            continue
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)


def _settle(waiters: Sequence[_Waiter], outcomes: Sequence[Outcome | BaseException]) -> None:
    """Hand outcomes to the requests' event loops: one wake-up per loop and batch, not per request."""
    by_loop: dict[asyncio.AbstractEventLoop, list[_Settled]] = {}
    for (loop, future), outcome in zip(waiters, outcomes, strict=True):
        by_loop.setdefault(loop, []).append((future, outcome))
    for loop, pairs in by_loop.items():
        with contextlib.suppress(RuntimeError):  # a closed loop: its requests are gone
            loop.call_soon_threadsafe(_settle_on_loop, pairs)


def _store_safely(
    store: Callable[[Sequence[Submission]], list[Outcome]], batch: Sequence[Submission]
) -> Sequence[Outcome | BaseException]:
    try:
        return store(batch)
    except Exception as exc:  # an unexpected bug must fail these requests, not kill the writer
        log.exception("storing a batch of %d responses failed", len(batch))
        return [exc] * len(batch)


def _drain(source: queue.SimpleQueue[_Item | None], first: _Item, limit: int) -> tuple[list[_Item], bool]:
    """``first`` and whatever else is queued (up to ``limit``); True once the stop mark was met."""
    batch = [first]
    while len(batch) < limit:
        try:
            item = source.get_nowait()
        except queue.Empty:
            break
        if item is _STOP:
            return batch, True
        batch.append(item)
    return batch, False


class ResponseWriter:
    def __init__(
        self,
        factory: sessionmaker[Session],
        max_text_chars: int,
        batch_max: int = 256,
        mode: str = "auto",
        sqlite_synchronous: str | None = None,
        timeout_s: float = 60.0,
    ) -> None:
        self._factory = factory
        self._timeout_s = timeout_s
        self._max_text_chars = max_text_chars
        self._batch_max = batch_max
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._cache = SurveyCache()
        url = _shareable_url(factory)
        if mode not in ("auto", "process", "thread"):
            raise ValueError(f"FEEDBACK_WRITER must be auto, process or thread, not {mode!r}")
        self.mode = "process" if mode != "thread" and url is not None else "thread"
        self._child = (
            _Child(url, max_text_chars, batch_max, sqlite_synchronous)
            if self.mode == "process" and url
            else None
        )
        # Comments an earlier version left unscored (responses/scoring.py): here, or in the child process.
        self._scorer = CommentScorer(factory, self._cache.cutoffs) if self._child is None else None
        self._lock = threading.Lock()
        self._started = self._stopping = False
        self._thread = self._new_thread()
        self._supervisor = threading.Thread(
            target=self._supervise, name="response-writer-supervisor", daemon=True
        )
        self._in_hand: list[_Item] = []

    def _new_thread(self) -> threading.Thread:
        return threading.Thread(target=self._run, name="response-writer", daemon=True)

    def start(self) -> None:
        if self._child is not None:
            self._child.start()
        with self._lock:
            self._started = True
            self._thread.start()
        self._supervisor.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Store everything already queued, then end the thread (and the child process)."""
        with self._lock:
            self._stopping = True
        self._queue.put(_STOP)
        self._thread.join(timeout)
        if self._child is not None:
            self._child.stop(timeout)

    def alive(self) -> bool:
        """False while the child process is gone (it is being replaced)."""
        self._replace_dead_thread()
        return self._thread.is_alive() and (self._child is None or self._child.alive())

    def _replace_dead_thread(self) -> None:
        """Start a new writer thread if the one we had ended without being asked to (killed by anything)."""
        with self._lock:
            if not self._started or self._stopping or self._thread.is_alive():
                return
            log.error("the response writer thread ended unexpectedly; starting another")
            self._thread = self._new_thread()
            self._thread.start()

    def _supervise(self, every: float = 1.0) -> None:
        while not self._stopping:
            time.sleep(every)
            try:
                self._replace_dead_thread()
            except Exception:  # e.g. no thread can be started right now: try again at the next tick
                log.exception("replacing the response writer thread failed")

    async def submit(self, submission: Submission) -> Stored:
        """Stored outcome once durable; raises the FeedbackError that says why not. A request that waits
        longer than ``timeout_s`` (a database that hangs) gets ServiceUnavailable: its answer may still be
        stored, and a retry with the same Idempotency-Key then replays it. An answer no question can take
        (a list, an object) is refused here, before it is queued."""
        if errors := submission.shape_errors():
            raise InvalidInput.of(errors)
        self._replace_dead_thread()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Stored] = loop.create_future()
        self._queue.put((submission, (loop, future)))
        try:
            async with asyncio.timeout(self._timeout_s):  # cheaper than wait_for: no second future
                return await future
        except TimeoutError:
            log.error("a submission waited %.0f s for the writer; answered 503", self._timeout_s)
            raise ServiceUnavailable("storing the response took too long; retry shortly") from None

    def _run(self) -> None:
        stopping = False
        try:
            while not stopping:
                scorer = self._scorer
                try:
                    first = self._queue.get(timeout=0.001 if scorer and scorer.pending else 1.0)
                except queue.Empty:  # no request waits: score what was left unscored
                    if scorer is not None:
                        scorer.run()
                    continue
                if first is _STOP:
                    break
                batch, stopping = _drain(self._queue, first, self._batch_max)
                self._in_hand = batch
                try:
                    if self._child is not None:
                        self._child.send(batch)
                    else:
                        self._write(batch)
                except Exception as exc:  # a bug must fail this batch's requests, not end the writer
                    log.exception("passing a batch of %d responses on failed", len(batch))
                    _settle([waiter for _, waiter in batch], [exc] * len(batch))
                self._in_hand = []
                if scorer is not None and scorer.overdue():
                    scorer.run(limit=32)
        finally:  # ended by anything else (the thread was killed): its requests are told at once
            lost, self._in_hand = self._in_hand, []
            if lost:
                failure = ServiceUnavailable("the response writer restarted; retry shortly")
                _settle([waiter for _, waiter in lost], [failure] * len(lost))

    def _write(self, batch: list[_Item]) -> None:
        def store(submissions: Sequence[Submission]) -> list[Outcome]:
            return store_batch(self._factory, submissions, self._cache, self._max_text_chars)

        _settle([waiter for _, waiter in batch], _store_safely(store, [s for s, _ in batch]))


def _shareable_url(factory: sessionmaker[Session]) -> str | None:
    """The database URL a child process can open too; None for an in-memory SQLite database."""
    bind = factory.kw.get("bind")
    if not isinstance(bind, Engine):
        return None
    url = bind.url
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:" or "memory" in str(url.query.get("mode", "")):
            return None
        if not url.database.startswith("file:"):
            url = url.set(database=os.path.abspath(url.database))  # the child may not share our cwd
    return url.render_as_string(hide_password=False)


# -- the child process ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Failure:
    """A FeedbackError on its way back from the child (exceptions lose their fields when pickled)."""

    kind: type[FeedbackError]
    message: str
    errors: list[FieldError]

    def error(self) -> FeedbackError:
        return self.kind(self.message, self.errors)


def _encode(outcome: Outcome | BaseException) -> Stored | _Failure | BaseException:
    if isinstance(outcome, FeedbackError):
        return _Failure(type(outcome), outcome.message, outcome.errors)
    if isinstance(outcome, BaseException):
        return RuntimeError(f"storing responses failed: {type(outcome).__name__}: {outcome}")
    return outcome


def _decode(outcome: Stored | _Failure | BaseException) -> Outcome | BaseException:
    return outcome.error() if isinstance(outcome, _Failure) else outcome


def _pickle(message: object) -> bytes:
    """The bytes ``Connection.send`` would send (it pickles the same way)."""
    return bytes(ForkingPickler.dumps(message))


def _settings_environment() -> dict[str, str]:
    """This process's FEEDBACK_* variables: the settings a writer child must read as its parent does."""
    return {name: value for name, value in os.environ.items() if name.startswith("FEEDBACK_")}


def _child_main(
    requests: Connection,
    outcomes: Connection,
    environment: dict[str, str],
    url: str,
    max_text_chars: int,
    batch_max: int,
    sqlite_synchronous: str | None,
) -> None:
    """Store what arrives on ``requests`` in batches; send each batch's outcomes back on ``outcomes``."""
    from feedback.db import make_engine, make_sessionmaker

    # The child forks from the forkserver, whose environment is the one it was started with: the parent's
    # settings now (survey vocabulary, company-defined fields, ...) come with the request to start.
    for name in [n for n in os.environ if n.startswith("FEEDBACK_") and n not in environment]:
        del os.environ[name]
    os.environ.update(environment)

    busy = stop = False

    def on_term(_signum: int, _frame: Any) -> None:
        nonlocal stop
        if not busy:
            raise SystemExit(0)
        stop = True  # finish the batch in hand first

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C reaches the whole group; the server stops us
    signal.signal(signal.SIGTERM, on_term)
    engine = make_engine(url, sqlite_synchronous_level=sqlite_synchronous, keyed=True)
    factory = make_sessionmaker(engine)
    cache = SurveyCache()
    checkpoints = _Checkpointer(engine) if engine.dialect.name == "sqlite" else None
    freeze_startup_heap()  # the modules, the lexicon, the engine: no full collection walks them

    scorer = CommentScorer(factory, cache.cutoffs)

    def store(submissions: Sequence[Submission]) -> list[Outcome]:
        return store_batch(factory, submissions, cache, max_text_chars)

    try:
        while not stop:
            if not requests.poll(0 if scorer.pending else 1.0):  # no request waits: score what was left
                busy = True
                scorer.run()
                busy = False
                continue
            try:
                message: list[tuple[int, Submission]] | None = requests.recv()
            except EOFError:
                break
            if message is _STOP:
                break
            busy = True
            items = message
            while len(items) < batch_max and requests.poll():  # group what has queued up meanwhile
                more = requests.recv()
                if more is _STOP:
                    stop = True
                    break
                items = items + more
            for start in range(0, len(items), batch_max):
                chunk = items[start : start + batch_max]
                results = _store_safely(store, [s for _, s in chunk])
                outcomes.send([(key, _encode(o)) for (key, _), o in zip(chunk, results, strict=True)])
            if scorer.overdue():  # never idle under this load: a few comments at least every second
                scorer.run(limit=32)
            busy = False
    finally:
        if checkpoints is not None:
            checkpoints.stop()
        engine.dispose()


class _Checkpointer:
    """Copies SQLite's write-ahead log back into the database from a thread of its own.

    By default the connection whose commit makes the log pass 1,000 pages does that copy (and its
    fsync) before its commit returns: every few batches, a batch of requests waited for it. Here the
    writer's connection never does; a PASSIVE checkpoint every 100 ms, which never blocks the writer,
    keeps the log short. Other connections (the web process, the command line) keep the default.
    """

    def __init__(self, engine: Engine, every: float = 0.1) -> None:
        event.listen(engine, "connect", self._no_autocheckpoint)
        self._engine = engine
        self._every = every
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wal-checkpoints", daemon=True)
        self._thread.start()

    @staticmethod
    def _no_autocheckpoint(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA wal_autocheckpoint=0")

    def _run(self) -> None:
        connection = self._engine.raw_connection()
        try:
            while not self._stopping.wait(self._every):
                try:
                    connection.driver_connection.execute("PRAGMA wal_checkpoint(PASSIVE)")  # type: ignore[union-attr]
                except Exception:  # a locked or missing database: try again at the next tick
                    log.warning("WAL checkpoint failed", exc_info=True)
        finally:
            connection.close()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(10)


class _Child:
    """The child process that stores batches, with the threads that talk to it."""

    def __init__(self, url: str, max_text_chars: int, batch_max: int, sqlite_synchronous: str | None) -> None:
        self._args = (url, max_text_chars, batch_max, sqlite_synchronous)
        self._lock = threading.Lock()
        self._pending: dict[int, _Waiter] = {}
        self._next_key = 0
        self._stopping = False
        self._requests: Connection | None = None
        self._process: multiprocessing.process.BaseProcess | None = None
        self._receiver: threading.Thread | None = None

    def start(self) -> None:
        # forkserver: children fork from a clean, single-threaded server process that has already
        # imported this module (spawn would re-import everything; fork would copy our threads' locks).
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([__name__])
        requests_out, requests_in = context.Pipe(duplex=False)
        outcomes_out, outcomes_in = context.Pipe(duplex=False)
        process = context.Process(
            target=_child_main,
            args=(requests_out, outcomes_in, _settings_environment(), *self._args),
            name="response-writer",
            daemon=True,
        )
        process.start()
        requests_out.close()
        outcomes_in.close()
        with self._lock:
            previous, self._requests, self._process = self._requests, requests_in, process
        if previous is not None:
            previous.close()
        self._receiver = threading.Thread(
            target=self._receive,
            args=(outcomes_out, process, time.monotonic()),
            name="response-writer-outcomes",
            daemon=True,
        )
        self._receiver.start()

    def alive(self) -> bool:
        with self._lock:
            process = self._process
        return process is not None and process.is_alive()

    def send(self, batch: list[_Item]) -> None:
        with self._lock:
            keys = range(self._next_key, self._next_key + len(batch))
            self._next_key += len(batch)
            for key, (_, waiter) in zip(keys, batch, strict=True):
                self._pending[key] = waiter
            requests = self._requests
        message = [(key, submission) for key, (submission, _) in zip(keys, batch, strict=True)]
        try:
            payload = _pickle(message)
        except Exception:  # one submission cannot be pickled: send the others, fail that one
            if len(message) > 1:
                for key, item in zip(keys, batch, strict=True):
                    self._send_one(key, item, requests)
                return
            log.exception("a submission could not be passed to the writer process")
            self._fail(keys, RuntimeError("this submission could not be passed to the writer"))
            return
        self._send_bytes(payload, keys, requests)

    def _send_one(self, key: int, item: _Item, requests: Connection | None) -> None:
        try:
            payload = _pickle([(key, item[0])])
        except Exception:
            log.exception("a submission could not be passed to the writer process")
            self._fail([key], RuntimeError("this submission could not be passed to the writer"))
            return
        self._send_bytes(payload, [key], requests)

    def _send_bytes(self, payload: bytes, keys: Sequence[int], requests: Connection | None) -> None:
        try:
            assert requests is not None
            requests.send_bytes(payload)
        except (OSError, ValueError):  # the child is gone; the receiver starts another
            self._fail(keys)

    def _receive(
        self, outcomes: Connection, process: multiprocessing.process.BaseProcess, started: float
    ) -> None:
        while True:
            try:
                message: list[tuple[int, Stored | _Failure | BaseException]] = outcomes.recv()
            except (EOFError, OSError):
                break
            with self._lock:
                waiters = [self._pending.pop(key) for key, _ in message]
            _settle(waiters, [_decode(outcome) for _, outcome in message])
        outcomes.close()
        process.join(5)
        with self._lock:
            stopping = self._stopping
            lost = list(self._pending)
        self._fail(lost)
        if not stopping:
            log.error(
                "the response writer process ended (exit code %s); %d request(s) failed; starting another",
                process.exitcode,
                len(lost),
            )
            time.sleep(max(0.0, 1.0 - (time.monotonic() - started)))  # no busy loop if it dies at once
            self.start()

    def _fail(self, keys: Sequence[int], error: BaseException | None = None) -> None:
        with self._lock:
            waiters = [w for w in (self._pending.pop(k, None) for k in keys) if w is not None]
        error = error or ServiceUnavailable("the response writer restarted; retry shortly")
        _settle(waiters, [error] * len(waiters))

    def stop(self, timeout: float) -> None:
        """Let the child store what it holds, then wait for it and for its outcomes."""
        with self._lock:
            self._stopping = True
            requests, process, receiver = self._requests, self._process, self._receiver
        if requests is not None:
            with contextlib.suppress(OSError):
                requests.send(_STOP)
            requests.close()
        if receiver is not None:
            receiver.join(timeout)
        if process is not None and process.is_alive():
            process.kill()
            process.join(5)
