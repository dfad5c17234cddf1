"""Dynamic batching of query embeddings, as text-embeddings-inference does.

At most `runs` model runs at a time per process (the query batcher uses one: measured best end to
end on 2 cores, see faq/embeddings.py). A question that finds a run free starts one at once in its own thread
(no hand-off, so a lone question waits for nothing); questions that arrive while every run is busy
queue, and when a run ends the first of them leads the next one, taking every queued text with it
(up to `max_batch`). Under load the model then runs a few large batches instead of many small runs
fighting over the same cores, and each caller still gets only its own vector or its batch's error.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from supportsite import metrics

Embed = Callable[[Sequence[str]], list[list[float]]]


class _Ticket:
    __slots__ = ("batch", "error", "ready", "text", "vector")

    def __init__(self, text: str) -> None:
        self.text = text
        self.vector: list[float] | None = None
        self.error: BaseException | None = None
        self.batch: list[_Ticket] | None = None  # a batch this caller runs itself (it is in it)
        # Set when done, or when handed a batch to run; made only for a caller that waits (an
        # Event is a Condition and a lock: measurable per question under load).
        self.ready: threading.Event | None = None


class Batcher:
    """`embed(text)` from any number of threads; `run` sees at most `runs` batches at a time."""

    def __init__(self, run: Embed, *, max_batch: int = 64, runs: int = 1) -> None:
        self.run = run
        self.max_batch = max_batch
        self.runs = runs
        self._lock = threading.Lock()
        self._queue: list[_Ticket] = []
        self._running = 0

    def embed(self, text: str) -> list[float]:
        ticket = _Ticket(text)
        with self._lock:
            self._queue.append(ticket)
            if self._running < self.runs:
                # A run is free: the queue was empty, so the batch taken now is this question alone.
                self._running += 1
                ticket.batch = self._take()
            else:
                ticket.ready = threading.Event()
        if ticket.ready is not None:
            ticket.ready.wait()
        if ticket.batch is not None:
            self._run(ticket.batch)
        if ticket.error is not None:
            raise ticket.error
        assert ticket.vector is not None
        return ticket.vector

    def _take(self) -> list[_Ticket]:
        """Under the lock: the oldest queued questions, up to max_batch, taken by exactly one run."""
        batch = self._queue[: self.max_batch]
        del self._queue[: self.max_batch]
        return batch

    def _run(self, batch: list[_Ticket]) -> None:
        try:
            # The same question asked twice at once is embedded once.
            texts = list(dict.fromkeys(ticket.text for ticket in batch))
            metrics.EMBEDDING_BATCH_SIZE.observe(len(texts))
            vectors = dict(zip(texts, self.run(texts), strict=True))
            for ticket in batch:
                ticket.vector = vectors[ticket.text]
        except BaseException as exc:  # every caller of this batch sees its failure; the next batch runs
            for ticket in batch:
                ticket.error = exc
        finally:
            with self._lock:
                successor = self._queue[0] if self._queue else None
                if successor is not None:
                    # The oldest waiter runs the next batch in its own thread; this run's slot passes to it.
                    successor.batch = self._take()
                else:
                    self._running -= 1
            for ticket in batch:
                ticket.batch = None
                if ticket.ready is not None:
                    ticket.ready.set()
            if successor is not None:
                successor.ready.set()
