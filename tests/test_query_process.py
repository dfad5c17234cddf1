"""Questions are embedded by a model process of their own (faq/model_process.py, EMBEDDING_QUERY_PROCESS):
the same vectors bit for bit as in the server's process, questions that arrive together share one
run, and a process that dies fails only the questions it held; the next question starts another."""

from __future__ import annotations

import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from faq import embeddings
from faq.model_process import ModelProcess
from supportsite import metrics

QUESTIONS = [
    "where is my refund",
    "how do i reset my password on the app",
    "can i change the delivery address on my order after it has shipped to the warehouse",
    "is the warranty free for members",
    "why was my card refused",
    "what is the weather tomorrow",
]


def _wait_until(condition, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.005)


def _batch_runs() -> tuple[float, float]:
    samples = {s.name: s.value for s in metrics.EMBEDDING_BATCH_SIZE.collect()[0].samples}
    return samples["ai_embedding_query_batch_size_count"], samples["ai_embedding_query_batch_size_sum"]


@pytest.fixture
def process():
    worker = ModelProcess("float", 1, dimensions=embeddings.LOCAL_DIMENSIONS)
    worker.warm()
    yield worker
    worker.close()


@pytest.mark.parametrize("kernel", ["float", "int8"])
def test_a_question_gets_the_same_vector_bit_for_bit_as_in_the_servers_process(settings, kernel):
    settings.LOCAL_EMBEDDING_KERNEL = kernel
    backend = embeddings.get_backend()
    assert backend.query_process is not None
    in_process = embeddings.LocalBackend(query_process=False)
    for question in QUESTIONS:
        assert backend.embed([question], queries=True) == in_process.embed([question], queries=True)
    # A question with a NUL or a lone surrogate is cleaned as in the server's process.
    odd = "where\x00 is my \ud800 parcel"
    assert backend.embed([odd], queries=True) == in_process.embed([odd], queries=True)
    assert backend._query_session is None  # the server's process never loads a second model for questions


def test_questions_sent_while_the_model_runs_share_its_next_run(process):
    expected = embeddings.LocalBackend(query_process=False).embed(QUESTIONS, queries=True)
    runs_before, questions_before = _batch_runs()
    os.kill(process.pid, signal.SIGSTOP)  # as if busy with a long run: the questions queue in its input
    try:
        with ThreadPoolExecutor(len(QUESTIONS)) as pool:
            futures = [pool.submit(process.embed, [question]) for question in QUESTIONS]
            _wait_until(lambda: len(process._pending) == len(QUESTIONS))
            os.kill(process.pid, signal.SIGCONT)
            vectors = [future.result(20)[0] for future in futures]
    finally:
        os.kill(process.pid, signal.SIGCONT)
    runs_after, questions_after = _batch_runs()
    assert (runs_after - runs_before, questions_after - questions_before) == (1, len(QUESTIONS))
    assert sorted(map(tuple, vectors)) == sorted(map(tuple, expected))  # each caller got its own, exactly
    for question, vector in zip(QUESTIONS, vectors, strict=True):
        assert vector == expected[QUESTIONS.index(question)]


def test_a_process_that_dies_fails_the_questions_it_held_and_the_next_question_starts_another(process):
    first = process.pid
    os.kill(first, signal.SIGSTOP)
    with ThreadPoolExecutor(2) as pool:
        held = [pool.submit(process.embed, [question]) for question in QUESTIONS[:2]]
        _wait_until(lambda: len(process._pending) == 2)
        os.kill(first, signal.SIGKILL)
        for future in held:
            with pytest.raises(embeddings.EmbeddingError, match="model process stopped"):
                future.result(20)
    vector = process.embed([QUESTIONS[0]])[0]
    assert process.pid not in (None, first)
    assert np.isclose(np.linalg.norm(vector), 1.0)
    # Found dead between questions: started again without failing anyone.
    second = process.pid
    os.kill(second, signal.SIGKILL)
    _wait_until(lambda: process._process.poll() is not None)
    assert process.embed([QUESTIONS[1]])[0] == embeddings.LocalBackend(query_process=False).embed([QUESTIONS[1]])[0]
    assert process.pid not in (None, second)


def test_closing_ends_the_process_and_a_model_that_cannot_load_is_an_embedding_error(process):
    pid = process.pid
    process.close()
    assert not os.path.exists(f"/proc/{pid}")  # ended and reaped
    broken = ModelProcess("no-such-kernel", 1, dimensions=embeddings.LOCAL_DIMENSIONS)
    try:
        with pytest.raises(embeddings.EmbeddingError, match="could not load the local model"):
            broken.embed(["where is my refund"])
    finally:
        broken.close()


def test_many_threads_asking_at_once_each_get_their_own_vector(process):
    questions = [f"{question} {n}" for n in range(8) for question in QUESTIONS]
    expected = dict(
        zip(questions, embeddings.LocalBackend(query_process=False).embed(questions, queries=True), strict=True)
    )
    barrier = threading.Barrier(16)

    def ask(question: str) -> tuple[str, list[float]]:
        if questions.index(question) < 16:
            barrier.wait(10)
        return question, process.embed([question])[0]

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(ask, questions))
    assert all(vector == expected[question] for question, vector in answers)
