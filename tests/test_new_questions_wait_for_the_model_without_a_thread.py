"""An anonymous API question that is new waits for its vector on the event loop, not in one of the
server's few request threads (faq.api.express_ahead, faq.embeddings.prime_query_vector): questions
that arrive while the model works all go into its next runs (QUESTION_RUN at a time), however many
there are, and each is answered. A refused question (over its rate limit) costs no model run, and a
question is counted once. Tried on `manage.py serve`, the process `make run` and the Docker image
run."""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import psutil
import pytest

from faq.model_process import QUESTION_RUN
from tests.conftest import app_process, server_env

pytestmark = pytest.mark.django_db(transaction=True)

# More questions than a thread pool of asyncio's default size can hold (cores + 4, at most 32).
AT_ONCE = 40
LIMIT = 3  # questions an address may ask per hour here


@pytest.fixture(scope="module")
def served(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        # Behind one trusted proxy, so that each test asks from addresses of its own.
        env = server_env(RATE_LIMITS_ENABLED="true", RATE_LIMIT_PER_IP=f"{LIMIT}/hour", TRUSTED_PROXY_COUNT="1")

    def argv(port: int) -> list[str]:
        return [sys.executable, "manage.py", "serve", "--no-migrate", "--port", str(port)]

    with app_process(argv, env) as (url, process):
        yield url, process


def _model_process(server) -> psutil.Process:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for child in psutil.Process(server.pid).children(recursive=True):
            with contextlib.suppress(psutil.Error):
                if "faq.model_process" in " ".join(child.cmdline()):
                    return child
        time.sleep(0.2)
    raise AssertionError("the server started no model process")


def _runs(url: str) -> tuple[float, float]:
    """Model runs so far, and the questions they held (the server's own metrics)."""
    with urllib.request.urlopen(url + "/metrics", timeout=10) as response:
        text = response.read().decode()
    values = {}
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name in ("ai_embedding_query_batch_size_count", "ai_embedding_query_batch_size_sum"):
            values[name] = float(value)
    return values.get("ai_embedding_query_batch_size_count", 0.0), values.get("ai_embedding_query_batch_size_sum", 0.0)


def _ask(url: str, question: str, address: str) -> tuple[int, dict]:
    request = urllib.request.Request(
        url + "/api/ai_faq_search",
        data=json.dumps({"query": question}).encode(),
        headers={"Content-Type": "application/json", "X-Forwarded-For": address},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_new_questions_beyond_the_servers_threads_all_wait_for_the_model_at_once(served):
    url, server = served
    model = _model_process(server)
    _ask(url, "a first question, so the model has run once", "10.0.0.250")
    runs_before, questions_before = _runs(url)
    os.kill(model.pid, signal.SIGSTOP)  # as if busy with a long run: every question queues in its input
    try:
        with ThreadPoolExecutor(AT_ONCE) as pool:
            futures = [
                pool.submit(_ask, url, f"where is parcel number {n} of my order", f"10.0.0.{n + 1}")
                for n in range(AT_ONCE)
            ]
            time.sleep(3)  # every request has reached the server and sent its question
            assert not any(future.done() for future in futures)
            os.kill(model.pid, signal.SIGCONT)
            answers = [future.result(60) for future in futures]
    finally:
        os.kill(model.pid, signal.SIGCONT)
    assert [status for status, _ in answers] == [200] * AT_ONCE
    assert all(body["answer_mode"] == "extractive" for _, body in answers)  # not the keyword fallback
    runs_after, questions_after = _runs(url)
    # Every run was full (QUESTION_RUN each): all had been sent while the model was stopped, none
    # waited for a free thread to send its question (the server has 6), or later runs would be smaller.
    runs = math.ceil(AT_ONCE / QUESTION_RUN)
    assert (runs_after - runs_before, questions_after - questions_before) == (runs, AT_ONCE)


def test_a_question_over_the_limit_costs_no_model_run_and_each_is_counted_once(served):
    url, _ = served
    runs_before, questions_before = _runs(url)
    statuses = [_ask(url, f"how do I return order {n} from last week", "10.1.0.1")[0] for n in range(LIMIT + 1)]
    # Counted twice (on the event loop and again in the view), the second would already be refused.
    assert statuses == [200] * LIMIT + [429]
    runs_after, questions_after = _runs(url)
    assert questions_after - questions_before == LIMIT  # the refused one was never embedded
    assert runs_after - runs_before == LIMIT
