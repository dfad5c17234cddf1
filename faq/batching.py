"""Dynamic batching of query embeddings, as text-embeddings-inference does.

One model run at a time per process. A question that finds the model idle runs at once in its own
thread (no hand-off, so a lone question waits for nothing); questions that arrive while it is busy
queue, and when the run ends the first of them leads the next run, taking every queued text with it
(up to `max_batch`). Under load the model then runs a few large batches instead of many small runs
fighting over the same cores, and each caller still gets only its own vector or its batch's error.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from supportsite import metrics

Embed = Callable[[Sequence[str]], list[list[float]]]


class _Ticket:
    __slots__ = ("error", "lead", "ready", "text", "vector")

    def __init__(self, text: str) -> None:
        self.text = text
        self.vector: list[float] | None = None
        self.error: BaseException | None = None
        self.lead = False  # this caller runs the next batch itself
        self.ready = threading.Event()  # set when done, or when told to lead


class Batcher:
    """`embed(text)` from any number of threads; `run` sees at most one batch at a time."""

    def __init__(self, run: Embed, *, max_batch: int = 64) -> None:
        self.run = run
        self.max_batch = max_batch
        self._lock = threading.Lock()
        self._queue: list[_Ticket] = []
        self._running = False

    def embed(self, text: str) -> list[float]:
        ticket = _Ticket(text)
        with self._lock:
            self._queue.append(ticket)
            if not self._running:
                # The queue is empty whenever nothing runs, so this ticket is at its head.
                self._running = ticket.lead = True
        if not ticket.lead:
            ticket.ready.wait()
        if ticket.lead:
            self._lead()
        if ticket.error is not None:
            raise ticket.error
        assert ticket.vector is not None
        return ticket.vector

    def _lead(self) -> None:
        with self._lock:
            batch = self._queue[: self.max_batch]
            del self._queue[: self.max_batch]
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
                if self._queue:
                    # Hand the model to the oldest waiter: it runs the next batch in its own thread.
                    self._queue[0].lead = True
                    self._queue[0].ready.set()
                else:
                    self._running = False
            for ticket in batch:
                ticket.lead = False
                ticket.ready.set()
