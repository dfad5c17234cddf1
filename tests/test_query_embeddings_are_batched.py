"""Questions that arrive while the model is busy are embedded together in one run (faq/batching.py)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from faq import embeddings
from faq.batching import Batcher

QUESTIONS = [
    "where is my refund",
    "how do i reset my password on the app",
    "can i change the delivery address on my order after it has shipped to the warehouse",
    "is the warranty free for members",
    "why was my card refused",
    "what is the weather tomorrow",
]


class HeldFirstRun:
    """The real embed_texts, recording each run; the first run waits until `release` is set, so
    the questions asked meanwhile queue behind it."""

    def __init__(self) -> None:
        self.runs: list[list[str]] = []
        self.threads: list[int] = []
        self.release = threading.Event()

    def __call__(self, texts):
        self.runs.append(list(texts))
        self.threads.append(threading.get_ident())
        if len(self.runs) == 1:
            assert self.release.wait(10)
        return embeddings.embed_texts(texts)


def _wait_until(condition, timeout: float = 10.0) -> None:
    done = threading.Event()
    for _ in range(int(timeout / 0.01)):
        if condition():
            return
        done.wait(0.01)
    raise AssertionError("condition not reached")


def test_batched_vectors_equal_one_by_one_vectors():
    together = embeddings.embed_texts(QUESTIONS)
    for question, vector in zip(QUESTIONS, together, strict=True):
        (alone,) = embeddings.embed_texts([question])
        assert np.allclose(vector, alone, atol=1e-5)


def test_a_lone_question_runs_at_once_in_its_own_thread():
    run = HeldFirstRun()
    run.release.set()
    vector = Batcher(run).embed("where is my refund")
    assert run.runs == [["where is my refund"]]
    assert run.threads == [threading.get_ident()]
    assert np.allclose(vector, embeddings.embed_texts(["where is my refund"])[0], atol=1e-5)


def test_questions_queued_behind_a_run_share_the_next_run_and_each_gets_its_own_vector():
    run = HeldFirstRun()
    batcher = Batcher(run)
    with ThreadPoolExecutor(len(QUESTIONS)) as pool:
        first = pool.submit(batcher.embed, QUESTIONS[0])
        _wait_until(lambda: len(run.runs) == 1)
        rest = [pool.submit(batcher.embed, q) for q in QUESTIONS[1:]]
        _wait_until(lambda: len(batcher._queue) == len(QUESTIONS) - 1)
        run.release.set()
        vectors = [first.result(10)] + [future.result(10) for future in rest]
    assert len(run.runs) == 2
    assert sorted(run.runs[1]) == sorted(QUESTIONS[1:])
    for question, vector in zip(QUESTIONS, vectors, strict=True):
        (alone,) = embeddings.embed_texts([question])
        assert np.allclose(vector, alone, atol=1e-5), question


def test_the_same_question_asked_twice_at_once_is_embedded_once():
    run = HeldFirstRun()
    batcher = Batcher(run)
    with ThreadPoolExecutor(3) as pool:
        first = pool.submit(batcher.embed, "warm up")
        _wait_until(lambda: len(run.runs) == 1)
        twins = [pool.submit(batcher.embed, "where is my refund") for _ in range(2)]
        _wait_until(lambda: len(batcher._queue) == 2)
        run.release.set()
        first.result(10)
        a, b = (future.result(10) for future in twins)
    assert run.runs[1] == ["where is my refund"]
    assert a == b


def test_an_error_reaches_every_caller_of_its_batch_and_the_next_batch_still_runs():
    calls = []
    release = threading.Event()

    def failing_then_real(texts):
        calls.append(list(texts))
        if len(calls) == 1:
            assert release.wait(10)
            return embeddings.embed_texts(texts)
        if len(calls) == 2:
            raise embeddings.EmbeddingError("the model fell over")
        return embeddings.embed_texts(texts)

    batcher = Batcher(failing_then_real)
    with ThreadPoolExecutor(4) as pool:
        first = pool.submit(batcher.embed, "warm up")
        _wait_until(lambda: len(calls) == 1)
        doomed = [pool.submit(batcher.embed, q) for q in QUESTIONS[:3]]
        _wait_until(lambda: len(batcher._queue) == 3)
        release.set()
        first.result(10)
        for future in doomed:
            with pytest.raises(embeddings.EmbeddingError, match="fell over"):
                future.result(10)
    assert batcher.embed("why was my card refused") == embeddings.embed_texts(["why was my card refused"])[0]
    assert not batcher._running


def test_embed_query_sends_concurrent_new_questions_through_the_batcher(monkeypatch, settings):
    # The batcher serves questions embedded in the server's process (the OpenAI backend, or
    # EMBEDDING_QUERY_PROCESS=false); the model process batches its own (tests/test_query_process.py).
    settings.EMBEDDING_QUERY_PROCESS = False
    run = HeldFirstRun()
    monkeypatch.setattr(embeddings, "_batcher", Batcher(run))
    embeddings._query_cache.clear()
    with ThreadPoolExecutor(len(QUESTIONS)) as pool:
        futures = [pool.submit(embeddings.embed_query, q) for q in QUESTIONS]
        _wait_until(lambda: len(run.runs) == 1 and len(embeddings._batcher._queue) == len(QUESTIONS) - 1)
        run.release.set()
        vectors = [future.result(10) for future in futures]
    assert len(run.runs) == 2
    for question, vector in zip(QUESTIONS, vectors, strict=True):
        assert np.allclose(vector, embeddings.embed_texts([question])[0], atol=1e-5)


def test_with_two_runs_two_questions_run_at_once_and_a_third_queues_behind_them():
    held = threading.Event()
    started: list[list[str]] = []

    def held_runs(texts):
        started.append(list(texts))
        if len(started) <= 2:
            assert held.wait(10)
        return embeddings.embed_texts(texts)

    batcher = Batcher(held_runs, runs=2)
    with ThreadPoolExecutor(4) as pool:
        first = pool.submit(batcher.embed, QUESTIONS[0])
        second = pool.submit(batcher.embed, QUESTIONS[1])
        _wait_until(lambda: len(started) == 2)  # both run at once, neither has finished
        third = pool.submit(batcher.embed, QUESTIONS[2])
        _wait_until(lambda: len(batcher._queue) == 1)
        assert len(started) == 2 and not third.done()
        held.set()
        vectors = [future.result(10) for future in (first, second, third)]
    assert started[2] == [QUESTIONS[2]]
    for question, vector in zip(QUESTIONS, vectors, strict=False):
        assert np.allclose(vector, embeddings.embed_texts([question])[0], atol=1e-5)
    assert not batcher._running and not batcher._queue


def test_many_questions_at_once_each_get_their_own_vector_with_two_runs():
    truth = {q: v for q, v in zip(QUESTIONS, embeddings.embed_texts(QUESTIONS), strict=True)}
    batcher = Batcher(lambda texts: [truth[t] for t in texts], runs=2, max_batch=3)
    asked = QUESTIONS * 50
    with ThreadPoolExecutor(16) as pool:
        vectors = list(pool.map(batcher.embed, asked))
    assert all(vector is truth[question] for question, vector in zip(asked, vectors, strict=True))
    assert not batcher._running and not batcher._queue
