"""Questions are embedded by a model process of their own (faq/model_process.py, EMBEDDING_QUERY_PROCESS):
the same vectors bit for bit as in the server's process, questions that arrive together share one
run, and a process that dies fails only the questions it held; the next question starts another."""

from __future__ import annotations

import asyncio
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
from tests.test_query_embeddings_are_batched import QUESTIONS, _wait_until


def _batch_runs() -> tuple[float, float]:
    samples = {s.name: s.value for s in metrics.EMBEDDING_BATCH_SIZE.collect()[0].samples}
    return samples["ai_embedding_query_batch_size_count"], samples["ai_embedding_query_batch_size_sum"]


@pytest.fixture
def process():
    # The kernel the server's process gives its model process (questions: faq/question_kernel.py).
    worker = ModelProcess(embeddings.questions_kernel("float"), 1, dimensions=embeddings.LOCAL_DIMENSIONS)
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
            _wait_until(lambda: process.waiting == len(QUESTIONS))
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
        _wait_until(lambda: process.waiting == 2)
        os.kill(first, signal.SIGKILL)
        for future in held:
            with pytest.raises(embeddings.EmbeddingError, match="model process stopped"):
                future.result(20)
    vector = process.embed([QUESTIONS[0]])[0]
    assert process.pid not in (None, first)
    assert np.isclose(np.linalg.norm(vector), 1.0)
    # Found dead between questions (by its reader thread, at once): started again without failing anyone.
    second = process.pid
    os.kill(second, signal.SIGKILL)
    _wait_until(lambda: process.pid is None)
    expected = embeddings.LocalBackend(query_process=False).embed([QUESTIONS[1]], queries=True)[0]
    assert process.embed([QUESTIONS[1]])[0] == expected
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


def test_a_stuck_process_is_replaced_after_the_reply_timeout(process, monkeypatch):
    from faq import model_process

    monkeypatch.setattr(model_process, "REPLY_TIMEOUT", 0.5)
    stuck = process.pid
    os.kill(stuck, signal.SIGSTOP)
    with pytest.raises(embeddings.EmbeddingError, match="no reply in"):
        process.embed([QUESTIONS[0]])
    assert not os.path.exists(f"/proc/{stuck}")  # killed and reaped
    monkeypatch.setattr(model_process, "REPLY_TIMEOUT", 60.0)  # the next one loads its model first
    assert np.isclose(np.linalg.norm(process.embed([QUESTIONS[0]])[0]), 1.0)


def test_a_flood_of_questions_from_many_threads_never_loses_a_reply(process):
    """Replies may be read by another caller before the asker has finished sending: every
    question is registered before it is sent, so none is lost or given another's vector."""
    questions = [f"question number {n} about my order" for n in range(600)]
    expected = embeddings.LocalBackend(query_process=False)

    def ask(question: str) -> tuple[str, list[float]]:
        return question, process.embed([question])[0]

    with ThreadPoolExecutor(24) as pool:
        answers = list(pool.map(ask, questions, timeout=120))
    assert len(answers) == len(questions) and process.waiting == 0
    sample = questions[::50]
    by_question = dict(answers)
    assert [by_question[q] for q in sample] == expected.embed(sample, queries=True)


def test_a_reply_read_by_another_caller_before_the_asker_has_finished_sending_reaches_the_asker(process, monkeypatch):
    """A waits for its reply; B sends, and before B's call goes on, the process answers both at
    once and A reads both replies: B's must already be registered, or it is lost."""
    from faq import model_process

    expected = embeddings.LocalBackend(query_process=False).embed(QUESTIONS[:2], queries=True)
    real_write = os.write
    os.kill(process.pid, signal.SIGSTOP)
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(process.embed, [QUESTIONS[0]])
        _wait_until(lambda: process.waiting == 1)

        def write_then_let_it_answer(fd, data):
            written = real_write(fd, data)
            os.kill(process.pid, signal.SIGCONT)  # it answers both in one run while B is still here
            time.sleep(0.5)
            return written

        monkeypatch.setattr(model_process.os, "write", write_then_let_it_answer)
        second = pool.submit(process.embed, [QUESTIONS[1]])
        assert first.result(20)[0] == expected[0]
        assert second.result(20)[0] == expected[1]


async def _until(condition) -> None:
    for _ in range(1000):  # 10 s
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")


def _asked_while_stopped(process, send) -> tuple[list, tuple[float, float]]:
    """`send()` (a coroutine) starts tasks that ask `process` while it is stopped, as if busy with a
    long run, and returns them once their questions are all in its input; then the process goes on.
    Returns the tasks' results and the (runs, questions) its runs added meanwhile."""
    runs_before, questions_before = _batch_runs()

    async def ask_all() -> list:
        asked = await send()
        os.kill(process.pid, signal.SIGCONT)
        return await asyncio.gather(*asked)

    os.kill(process.pid, signal.SIGSTOP)
    try:
        answers = asyncio.run(ask_all())
    finally:
        os.kill(process.pid, signal.SIGCONT)
    runs_after, questions_after = _batch_runs()
    return answers, (runs_after - runs_before, questions_after - questions_before)


def test_questions_awaited_on_an_event_loop_share_a_run_and_a_cancelled_one_harms_none(process):
    """aembed() holds no thread: every coroutine below waits at once on this one thread."""
    expected = embeddings.LocalBackend(query_process=False).embed(QUESTIONS, queries=True)

    async def send() -> list[asyncio.Task]:
        asked = [asyncio.create_task(process.aembed([question])) for question in QUESTIONS]
        abandoned = asyncio.create_task(process.aembed(["a question whose client went away"]))
        await _until(lambda: process.waiting == len(QUESTIONS) + 1)
        abandoned.cancel()
        return asked

    answers, runs = _asked_while_stopped(process, send)
    assert [vectors[0] for vectors in answers] == expected
    assert runs == (1, len(QUESTIONS) + 1)
    assert process.waiting == 0
    assert process.embed([QUESTIONS[0]])[0] == expected[0]  # the next caller is unaffected


def test_on_an_event_loop_a_process_not_running_is_left_to_a_thread_and_one_that_dies_fails_its_questions(process):
    idle = ModelProcess("float", 1, dimensions=embeddings.LOCAL_DIMENSIONS)
    try:
        assert asyncio.run(idle.aembed([QUESTIONS[0]])) is None  # starting it would block the loop
        assert idle.pid is None
    finally:
        idle.close()

    first = process.pid

    async def ask_then_kill():
        asked = asyncio.create_task(process.aembed([QUESTIONS[0]]))
        await _until(lambda: process.waiting == 1)
        os.kill(first, signal.SIGKILL)
        return await asked

    os.kill(first, signal.SIGSTOP)
    with pytest.raises(embeddings.EmbeddingError, match="model process stopped"):
        asyncio.run(ask_then_kill())
    assert np.isclose(np.linalg.norm(process.embed([QUESTIONS[1]])[0]), 1.0)  # a thread starts another
    assert process.pid not in (None, first)


def test_a_long_queue_is_embedded_in_runs_of_question_run_oldest_first(process):
    """More requests waiting than one run takes: the oldest QUESTION_RUN go first and are answered
    before the next run starts, so the server can work on their answers while the model goes on."""
    from faq.model_process import QUESTION_RUN

    questions = [f"{question} ({n})" for n in range(4) for question in QUESTIONS][: 2 * QUESTION_RUN + 3]
    expected = embeddings.LocalBackend(query_process=False).embed(questions, queries=True)
    answered: list[str] = []

    async def ask(question: str) -> list[list[float]] | None:
        vectors = await process.aembed([question])
        answered.append(question)
        return vectors

    async def send() -> list[asyncio.Task]:
        asked = []
        for question in questions:  # sent in this order (one loop, each task sends at its first step)
            asked.append(asyncio.create_task(ask(question)))
            await _until(lambda: process.waiting == len(asked))
        return asked

    answers, runs = _asked_while_stopped(process, send)
    assert [vectors[0] for vectors in answers] == expected
    assert runs == (3, len(questions))
    # Each run's replies before the next run's: the oldest requests were answered first.
    assert set(answered[:QUESTION_RUN]) == set(questions[:QUESTION_RUN])
    assert set(answered[QUESTION_RUN : 2 * QUESTION_RUN]) == set(questions[QUESTION_RUN : 2 * QUESTION_RUN])


def test_the_model_process_tokenizes_in_its_own_thread_unless_the_operator_says_otherwise(process, monkeypatch):
    def tokenizer_setting(pid: int) -> str | None:
        with open(f"/proc/{pid}/environ", "rb") as environ:
            variables = dict(item.split(b"=", 1) for item in environ.read().split(b"\0") if b"=" in item)
        value = variables.get(b"TOKENIZERS_PARALLELISM")
        return value.decode() if value is not None else None

    assert tokenizer_setting(process.pid) == "false"
    monkeypatch.setenv("TOKENIZERS_PARALLELISM", "true")
    chosen = ModelProcess(embeddings.questions_kernel("float"), 1, dimensions=embeddings.LOCAL_DIMENSIONS)
    try:
        chosen.warm()
        assert tokenizer_setting(chosen.pid) == "true"
    finally:
        chosen.close()
