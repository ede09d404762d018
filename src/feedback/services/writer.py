"""The response writer: a thread that stores queued submissions in batches (group commit).

A request waits for its own outcome, so it is answered only once its row is durable; many requests
share one transaction and one fsync, which is what lifts a write path above ~1,000 commits/s.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from concurrent.futures import Future

from sqlalchemy.orm import Session, sessionmaker

from feedback.errors import FeedbackError
from feedback.services.responses import Stored, SurveyCache, store_batch
from feedback.services.submissions import Submission

log = logging.getLogger(__name__)

_Item = tuple[Submission, "Future[Stored]"]


class ResponseWriter:
    def __init__(self, factory: sessionmaker[Session], max_text_chars: int, batch_max: int = 256) -> None:
        self._factory = factory
        self._max_text_chars = max_text_chars
        self._batch_max = batch_max
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._cache = SurveyCache()
        self._thread = threading.Thread(target=self._run, name="response-writer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Store everything already queued, then end the thread."""
        self._queue.put(None)
        self._thread.join(timeout)

    async def submit(self, submission: Submission) -> Stored:
        """Stored outcome once durable; raises the FeedbackError that says why not."""
        future: Future[Stored] = Future()
        self._queue.put((submission, future))
        return await asyncio.wrap_future(future)

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is None:
                break
            batch = [first]
            while len(batch) < self._batch_max:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stopping = True
                    break
                batch.append(item)
            self._write(batch)

    def _write(self, batch: list[_Item]) -> None:
        try:
            outcomes = store_batch(self._factory, [s for s, _ in batch], self._cache, self._max_text_chars)
        except Exception as exc:  # an unexpected bug must fail these requests, not kill the writer
            log.exception("storing a batch of %d responses failed", len(batch))
            for _, future in batch:
                future.set_exception(exc)
            return
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, FeedbackError):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)
