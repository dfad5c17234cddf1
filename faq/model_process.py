"""Customers' questions embedded by a process of their own, beside the server's (EMBEDDING_QUERY_PROCESS).

Why: a model run inside the server's process gives up the GIL while onnxruntime works and must take
it back afterwards (and around the tokenizer's and numpy's steps), each time behind whichever request
thread holds it, for up to the interpreter's switch interval (5 ms). Measured on a 2-core machine
(bench/query_process.py, batches of 3 new questions, ms a question): in the server's process 7.1
alone, 7.5 beside a busy other process, 12.6 beside one busy Python thread of the same process; in
a model process 7.1, 7.5 and 9.9. Under load (32 clients, every question new) the server's model
ran at 9.7 ms a question, busy 85% of the time, with 30% of the machine idle; with the model
process the same load answered about a fifth more (README, "Search under load").

One process per server process, started at the first question (or by `warm()`), with the same
kernel and EMBEDDING_QUERY_THREADS as before, so a question's vector is the same bit for bit
(tests/test_query_process.py). Articles (imports, saves) are still embedded in the server's process.
If the process dies, the batch it held fails like any model error (the search degrades to
keywords) and the next question starts a new process: it recovers by itself.

The protocol, over the child's stdin and stdout: a request is a 4-byte little-endian length and the
texts in UTF-8, separated by NUL (faq.embeddings._clean has replaced every NUL in them); a reply is a
4-byte length, then b"V", a 2-byte count of the questions in the run it came from (on the first
reply of each run; 0 on the others) and the float32 vectors (little-endian, one row per text), or
b"E" and an error message. The child embeds the requests that have arrived while it ran in its next
run (as text-embeddings-inference batches), at most QUESTION_RUN of them, oldest first; a question
with no reply in REPLY_TIMEOUT seconds fails and the process is killed and replaced. One reader
thread per child settles the replies: a thread that asked waits on an Event, a coroutine (`aembed`:
the express lane's new questions) on a future of its event loop, so no request thread is held
while the model works.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import fcntl
import logging
import os
import select
import signal
import struct
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from supportsite import metrics

logger = logging.getLogger(__name__)

_LENGTH = struct.Struct("<I")
# A question waits at most this long for its vector; then the process is replaced (a stuck run).
REPLY_TIMEOUT = 60.0
_BATCH = struct.Struct("<H")  # in a reply: the questions of the run it came from (first reply only)
_PACKAGE_ROOT = Path(__file__).resolve().parent.parent
# Questions are short (about 13 tokens): runs of up to 16 cost less a question than runs of 8 (ms
# of CPU a question, sorted by length, 1 thread: 4.80 / 4.71 against 5.00 / 4.92 for 12 / 24
# questions; 2 threads: 5.73 / 5.84 against 6.06 / 6.32). Articles keep runs of 8 (faq/embeddings.py).
QUESTION_BATCH = 16
# Requests a run takes at most, oldest first; the rest wait for the next run, with whatever arrives
# meanwhile. Under load the replies of one run go back to the server while the model runs the next,
# so the server and PostgreSQL answer some questions while the model embeds others: with every
# request in one run (up to 64), a run of 20-30 new questions held the server idle until all were
# done, then left the model idle while the server caught up. 32 clients, every question new, 2 cores,
# fresh server each, medians of 5 alternating runs (bench notes in README, "Search under load"):
# runs of at most 64: 292.5 req/s, machine 12.3% idle; 8: 317.3 req/s, 7.8% idle, with the same
# model CPU a question (2.0 ms). 4 and 6 left less idle but cost more model CPU a question. It counts
# requests; QUESTION_BATCH above still splits a run's texts (one request may hold several).
QUESTION_RUN = 8
# The pipe to the child holds this much (Linux allows an unprivileged process up to 1 MiB), so that
# questions sent from an event loop never wait for room (ModelProcess.aembed).
_PIPE_SIZE = 1 << 20


class _Pending:
    """One request sent and not yet answered. Its caller waits on `event` (a thread) or `future`
    (a coroutine on the loop given); the reader thread settles it."""

    __slots__ = ("error", "event", "future", "reply", "sent", "size")

    def __init__(self, size: int, *, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.reply: bytes | None = None
        self.error: BaseException | None = None
        self.size = size  # bytes of its request, while they may still sit in the pipe
        self.sent = time.monotonic()
        self.future = loop.create_future() if loop is not None else None
        self.event = threading.Event() if loop is None else None


def _settle(pendings: list[_Pending]) -> None:
    """Wake the callers of requests that have their reply (or error): threads at once, each
    event loop's coroutines with one call on that loop."""
    loops: dict[asyncio.AbstractEventLoop, list[asyncio.Future]] = {}
    for pending in pendings:
        if pending.event is not None:
            pending.event.set()
        else:
            loops.setdefault(pending.future.get_loop(), []).append(pending.future)
    for loop, futures in loops.items():
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits any more
            loop.call_soon_threadsafe(_wake, futures)


def _wake(futures: list[asyncio.Future]) -> None:
    for future in futures:
        if not future.done():  # a cancelled request (its client went away) wants nothing
            future.set_result(None)


class _Child:
    """One model process, what was sent to it (replies come in the order of `pending`) and the
    thread that reads its replies."""

    def __init__(self, popen: subprocess.Popen) -> None:
        self.popen = popen
        self.pending: collections.deque[_Pending] = collections.deque()
        self.in_flight = 0  # bytes of the requests in `pending` (never fewer than are in the pipe)
        self.counting = threading.Lock()  # for in_flight only: never held while reading or writing
        with contextlib.suppress(OSError, AttributeError):  # Linux; elsewhere the pipe keeps its size
            fcntl.fcntl(popen.stdin.fileno(), fcntl.F_SETPIPE_SZ, _PIPE_SIZE)
        try:
            self.pipe_size = fcntl.fcntl(popen.stdin.fileno(), fcntl.F_GETPIPE_SZ)
        except (OSError, AttributeError):
            self.pipe_size = 1 << 16


class ModelProcess:
    """The parent's end: `embed(texts)` from any thread, or `await aembed(texts)` on an event
    loop, which holds no thread while the model works. Several calls may be in flight at once:
    the child answers them in order, and while it works on one run the next questions are
    already in its input, so it never waits for this process to send them. One thread per
    child reads the replies and wakes their callers."""

    def __init__(self, kernel: str, threads: int, *, dimensions: int) -> None:
        self.kernel = kernel
        self.threads = threads
        self.dimensions = dimensions
        self._write_lock = threading.Lock()
        self._child: _Child | None = None

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        request = _request(texts)
        mine = _Pending(len(request))
        with self._write_lock:
            self._send(self._running(), mine, request)
        # The reader fails it after REPLY_TIMEOUT; this only guards against a reader gone wrong.
        if not mine.event.wait(REPLY_TIMEOUT + 30):
            mine.error = TimeoutError(f"no reply in {REPLY_TIMEOUT + 30:g} s")
        return self._vectors(mine, len(texts))

    async def aembed(self, texts: Sequence[str]) -> list[list[float]] | None:
        """embed() for a coroutine. None (ask embed() in a thread instead) when the process is
        not running yet (starting it blocks), when the write lock is taken, or when this request
        might not fit in the pipe beside those in flight: the event loop never waits."""
        request = _request(texts)
        child = self._child
        if child is None or child.popen.poll() is not None or child.pipe_size < 2 * (child.in_flight + len(request)):
            return None
        if not self._write_lock.acquire(blocking=False):
            return None
        try:
            if child is not self._child:
                return None
            mine = _Pending(len(request), loop=asyncio.get_running_loop())
            self._send(child, mine, request)
        finally:
            self._write_lock.release()
        await mine.future
        return self._vectors(mine, len(texts))

    def _send(self, child: _Child, mine: _Pending, request: bytes) -> None:
        """Under the write lock."""
        child.pending.append(mine)  # before the write: its reply may be read at once
        with child.counting:
            child.in_flight += mine.size
        try:
            os.write(child.popen.stdin.fileno(), _LENGTH.pack(len(request)) + request)
        except OSError as exc:
            self._fail(child, exc)

    def _vectors(self, mine: _Pending, count: int) -> list[list[float]]:
        from faq.embeddings import EmbeddingError

        if mine.error is not None:
            raise EmbeddingError(
                f"the model process stopped ({mine.error}); the next question starts another"
            ) from mine.error
        reply = mine.reply
        if reply[:1] != b"V":
            raise EmbeddingError(reply[1:].decode("utf-8", "replace") or "the model process answered nothing")
        batch = _BATCH.unpack_from(reply, 1)[0]
        if batch:  # the first reply of each model run says how many questions it held
            metrics.EMBEDDING_BATCH_SIZE.observe(batch)
        vectors = np.frombuffer(reply, dtype="<f4", offset=1 + _BATCH.size)
        if vectors.size != count * self.dimensions:
            raise EmbeddingError(f"the model process returned {vectors.size} values for {count} texts")
        return vectors.reshape(count, self.dimensions).tolist()

    def warm(self) -> None:
        """Start the process and load its model now rather than at the first question."""
        self.embed(["warm up"])

    @property
    def pid(self) -> int | None:
        child = self._child
        return child.popen.pid if child is not None and child.popen.poll() is None else None

    @property
    def waiting(self) -> int:
        """Questions sent and not yet answered."""
        child = self._child
        return len(child.pending) if child is not None else 0

    def close(self) -> None:
        with self._write_lock:
            if self._child is not None:
                self._fail(self._child, EOFError("closed"))

    def _running(self) -> _Child:
        """Under the write lock: the live process, started if there is none."""
        child = self._child
        if child is not None and child.popen.poll() is not None:
            logger.warning(
                "the model process (pid %d) ended with %s; starting another", child.popen.pid, child.popen.returncode
            )
            self._fail(child, EOFError(f"it ended with {child.popen.returncode}"))
        if self._child is None:
            env = {key: value for key, value in os.environ.items() if key != "PROMETHEUS_MULTIPROC_DIR"}
            # A run's few short questions are tokenized faster in one thread than handed to the
            # tokenizer's thread pool (0.022 against 0.038 ms of CPU a question, runs of 8), whose
            # threads would also wake for every run (unless the operator has set it).
            env.setdefault("TOKENIZERS_PARALLELISM", "false")
            self._child = child = _Child(
                subprocess.Popen(
                    [sys.executable, "-m", "faq.model_process", self.kernel, str(self.threads)],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    cwd=_PACKAGE_ROOT,
                    env=env,
                    bufsize=0,
                )
            )
            # The thread holds no reference to self: a backend replaced by new settings is still
            # collected, and its __del__ ends the child (whose reader then ends too).
            threading.Thread(
                target=_read, args=(child, weakref.ref(self)), name="model-process-replies", daemon=True
            ).start()
        return self._child

    def _fail(self, child: _Child, error: BaseException) -> None:
        """Under the write lock: `child` is gone; every call still waiting on it fails, and the
        next one starts another. Its reader closes its output when it sees the end."""
        if child is self._child:
            self._child = None
            process = child.popen
            with contextlib.suppress(OSError):
                process.stdin.close()
            try:
                process.wait(timeout=5)  # it ends at the end of its input
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        _fail_pending(child, error)  # last: a caller woken now finds the process gone

    def __del__(self) -> None:
        # A backend replaced by new settings takes its process with it: the child ends at the end
        # of its input (and so it does when this whole process ends, however it ends).
        child = self._child
        if child is not None and child.popen.stdin is not None:
            child.popen.stdin.close()


def _read(child: _Child, owner: weakref.ref[ModelProcess]) -> None:
    """A child's reader thread: settle each reply with the oldest request, until the child ends,
    closes its output or leaves its oldest request unanswered for REPLY_TIMEOUT."""
    fd, unread = child.popen.stdout.fileno(), bytearray()
    try:
        while True:
            oldest = child.pending[0].sent if child.pending else None
            left = REPLY_TIMEOUT if oldest is None else oldest + REPLY_TIMEOUT - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no reply in {REPLY_TIMEOUT:g} s")
            if not select.select([fd], [], [], min(left, 1.0))[0]:
                continue
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                raise EOFError("it closed its output")
            frames, unread = _split_frames(unread + chunk)
            answered = []
            for frame in frames:
                mine = child.pending.popleft()
                mine.reply = frame
                answered.append(mine)
            with child.counting:
                child.in_flight -= sum(mine.size for mine in answered)
            _settle(answered)
    except (OSError, EOFError, ValueError, IndexError) as exc:  # it died or is stuck, or was failed already
        with contextlib.suppress(OSError):
            child.popen.kill()  # first: a writer may be blocked on its full input
        process = owner()
        if process is None:
            _fail_pending(child, exc)
        else:
            with process._write_lock:
                process._fail(child, exc)
    finally:
        with contextlib.suppress(OSError):
            child.popen.stdout.close()


def _fail_pending(child: _Child, error: BaseException) -> None:
    """Every request still waiting on `child` fails with `error`."""
    failed = []
    while child.pending:
        mine = child.pending.popleft()
        mine.error = error
        failed.append(mine)
    with child.counting:
        child.in_flight = 0
    _settle(failed)


def _request(texts: Sequence[str]) -> bytes:
    return "\0".join(texts).encode("utf-8")


def _split_frames(data: bytearray) -> tuple[list[bytes], bytearray]:
    """The complete length-prefixed frames at the start of `data`, and what follows them."""
    frames, at = [], 0
    while len(data) - at >= _LENGTH.size:
        end = at + _LENGTH.size + _LENGTH.unpack_from(data, at)[0]
        if end > len(data):
            break
        frames.append(bytes(data[at + _LENGTH.size : end]))
        at = end
    return frames, data[at:]


def _serve(kernel: str, threads: int, *, max_batch: int = QUESTION_RUN) -> None:
    """The child: load the model, then answer requests until the parent closes its end. The
    requests that have arrived while the model ran are embedded in the next run together (as
    text-embeddings-inference batches), up to `max_batch` of them, so the parent never needs to
    gather them; the rest go in the run after, and each run's replies are sent before it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the server, which closes our input
    from faq.embeddings import LocalBackend

    backend, failure = None, b""
    try:
        backend = LocalBackend(kernel=kernel, threads=threads, query_process=False, spinning=False)
        if backend.batch_size > 1:  # the float kernel: a text's vector is the same in any batch
            backend.batch_size = QUESTION_BATCH
    except Exception as exc:  # a missing model file or a broken install: every request says so
        failure = f"could not load the local model: {exc}".encode()
    requests, replies = sys.stdin.fileno(), sys.stdout.buffer
    frames: list[bytes] = []  # requests received and not yet run, oldest first
    unread = bytearray()  # the start of a request not yet complete
    while True:
        # Wait for a first request, then take whatever else has already arrived.
        while not frames or (len(frames) < max_batch and select.select([requests], [], [], 0)[0]):
            chunk = os.read(requests, 1 << 20)
            if not chunk:
                return  # the parent has gone
            more, unread = _split_frames(unread + chunk)
            frames += more
        taken, frames = frames[:max_batch], frames[max_batch:]
        texts = [frame.decode("utf-8").split("\0") for frame in taken]
        out = []
        if backend is None:
            out = [b"E" + failure for _ in texts]
        else:
            try:
                vectors = np.asarray(backend.embed([text for group in texts for text in group]), dtype="<f4")
            except Exception as exc:  # onnxruntime errors: this run fails, the process goes on
                out = [b"E" + f"{type(exc).__name__}: {exc}".encode() for _ in texts]
            else:
                at = 0
                for i, group in enumerate(texts):
                    head = b"V" + _BATCH.pack(len(taken) if i == 0 else 0)
                    out.append(head + vectors[at : at + len(group)].tobytes())
                    at += len(group)
        replies.write(b"".join(_LENGTH.pack(len(reply)) + reply for reply in out))
        replies.flush()


if __name__ == "__main__":
    _serve(sys.argv[1], int(sys.argv[2]))
