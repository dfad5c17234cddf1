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
b"E" and an error message. The child embeds every request that has arrived while it ran in its next
run (as text-embeddings-inference batches); a question with no reply in REPLY_TIMEOUT seconds fails
and the process is killed and replaced.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import select
import signal
import struct
import subprocess
import sys
import threading
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


class _Pending:
    __slots__ = ("error", "reply")

    def __init__(self) -> None:
        self.reply: bytes | None = None
        self.error: BaseException | None = None


class _Child:
    """One model process and what was sent to it: replies come in the order of `pending`."""

    def __init__(self, popen: subprocess.Popen) -> None:
        self.popen = popen
        self.pending: collections.deque[_Pending] = collections.deque()
        self.unread = bytearray()  # under the read lock: the start of a reply not yet complete

    def replies(self) -> list[bytes]:
        """Under the read lock: the complete replies one read brings (usually a whole run's)."""
        fd = self.popen.stdout.fileno()
        if not select.select([fd], [], [], REPLY_TIMEOUT)[0]:
            raise TimeoutError(f"no reply in {REPLY_TIMEOUT:g} s")
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            raise EOFError("it closed its output")
        frames, self.unread = _split_frames(self.unread + chunk)
        return frames


class ModelProcess:
    """The parent's end: `embed(texts)` from any thread. Several calls may be in flight at once:
    the child answers them in order, and while it works on one run the next questions are
    already in its input, so it never waits for this process to send them."""

    def __init__(self, kernel: str, threads: int, *, dimensions: int) -> None:
        self.kernel = kernel
        self.threads = threads
        self.dimensions = dimensions
        self._write_lock = threading.Lock()
        self._read_lock = threading.Lock()
        self._child: _Child | None = None

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        from faq.embeddings import EmbeddingError

        request = "\0".join(texts).encode("utf-8")
        mine = _Pending()
        with self._write_lock:
            child = self._running()
            child.pending.append(mine)  # before the write: its reply may be read at once
            try:
                os.write(child.popen.stdin.fileno(), _LENGTH.pack(len(request)) + request)
            except OSError as exc:
                self._fail(child, exc)
        with self._read_lock:
            # Whoever reads takes every reply that has come, in order, until its own is among
            # them; an earlier caller finds its reply already there when it gets the lock.
            while mine.reply is None and mine.error is None:
                try:
                    frames = child.replies()
                except (OSError, EOFError) as exc:  # it died, or is stuck (TimeoutError)
                    with contextlib.suppress(OSError):
                        child.popen.kill()  # first: a writer may be blocked on its full input
                    with self._write_lock:
                        self._fail(child, exc)
                    break
                for frame in frames:
                    child.pending.popleft().reply = frame
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
        if vectors.size != len(texts) * self.dimensions:
            raise EmbeddingError(f"the model process returned {vectors.size} values for {len(texts)} texts")
        return vectors.reshape(len(texts), self.dimensions).tolist()

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
            self._child = _Child(
                subprocess.Popen(
                    [sys.executable, "-m", "faq.model_process", self.kernel, str(self.threads)],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    cwd=_PACKAGE_ROOT,
                    env=env,
                    bufsize=0,
                )
            )
        return self._child

    def _fail(self, child: _Child, error: BaseException) -> None:
        """Under the write lock: `child` is gone; every call still waiting on it fails, and the
        next one starts another."""
        while child.pending:
            child.pending.popleft().error = error
        if child is not self._child:
            return  # already replaced
        self._child = None
        process = child.popen
        for stream in (process.stdin, process.stdout):
            with contextlib.suppress(OSError):
                stream.close()
        try:
            process.wait(timeout=5)  # it ends at the end of its input
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def __del__(self) -> None:
        # A backend replaced by new settings takes its process with it: the child ends at the end
        # of its input (and so it does when this whole process ends, however it ends).
        child = self._child
        if child is not None and child.popen.stdin is not None:
            child.popen.stdin.close()


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


def _serve(kernel: str, threads: int, *, max_batch: int = 64) -> None:
    """The child: load the model, then answer requests until the parent closes its end. Every
    request that has arrived while the model ran is embedded in the next run together (as
    text-embeddings-inference batches), so the parent never needs to gather them."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the server, which closes our input
    from faq.embeddings import LocalBackend

    backend, failure = None, b""
    try:
        backend = LocalBackend(kernel=kernel, threads=threads, query_process=False)
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
