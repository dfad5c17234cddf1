"""Two Daphne processes and one real redis-server: a caller's budget is counted once, whichever
process answers; the 429s are counted in one Prometheus view; a Redis outage lets questions
through (never a 500) and the limits come back by themselves."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest
from websockets.sync.client import connect

from faq.models import UserResponse
from supportsite.shared_cache import CACHE_RETRY_SECONDS
from tests.conftest import a_fresh_window, add_articles, daphne_pair
from tests.test_metrics_and_probes import _series

pytestmark = pytest.mark.django_db(transaction=True)

LIMIT = 4
QUESTION = {"query": "I forgot my password"}


@pytest.fixture(scope="module")
def servers(django_db_setup, django_db_blocker, redis_server, tmp_path_factory):
    env = {
        "REDIS_URL": redis_server.url,
        "RATE_LIMITS_ENABLED": "true",
        # Per hour: a test never straddles two windows (see a_fresh_window).
        "RATE_LIMIT_PER_IP": f"{LIMIT}/hour",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path_factory.mktemp("metrics")),
    }
    with daphne_pair(django_db_blocker, **env) as pair:
        yield pair


@pytest.fixture
def articles(fresh_redis):
    add_articles("reset-password")


def _ask(base: str) -> tuple[int, dict]:
    request = urllib.request.Request(
        base + "/api/ai_faq_search", data=json.dumps(QUESTION).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _metrics(base: str) -> str:
    with urllib.request.urlopen(base + "/metrics", timeout=30) as response:
        return response.read().decode()


def _websocket_question(base: str) -> dict:
    """One question over the websocket; the last frame (done or error)."""
    with connect(base.replace("http://", "ws://") + "/ws/answer/", origin=base, open_timeout=10) as socket:
        socket.send(json.dumps({**QUESTION, "category": None}))
        while True:
            frame = json.loads(socket.recv(timeout=30))
            if frame["type"] in ("done", "error"):
                return frame


def test_questions_alternating_between_two_processes_meet_one_shared_limit(servers, articles, fresh_redis):
    first, second = servers
    a_fresh_window(3600, needed=60)  # counting starts well inside one hour's window
    statuses = [_ask(base)[0] for base in (first, second) * (LIMIT // 2)]
    assert statuses == [200] * LIMIT
    for base in (first, second):
        status, body = _ask(base)
        assert status == 429, "each process alone has seen only half the questions"
        assert body["error"].startswith(f"too many requests: the limit is {LIMIT} per hour per IP address")
    assert UserResponse.objects.count() == LIMIT, "refused questions are not stored"
    # The counter is one key in Redis, not one per process.
    keys = [key.decode() for key in fresh_redis.client().keys("supportsite:*ratelimit:questions:ip:127.0.0.1:*")]
    assert len(keys) == 1 and int(fresh_redis.client().get(keys[0])) == LIMIT + 2
    for base in (first, second):
        assert _series(_metrics(base), "rate_limited_total", kind="questions") == 2


def test_the_websocket_on_one_process_counts_against_questions_asked_on_the_other(servers, articles):
    first, second = servers
    a_fresh_window(3600, needed=60)  # counting starts well inside one hour's window
    for _ in range(LIMIT - 1):
        assert _ask(first)[0] == 200
    assert _websocket_question(second)["type"] == "done"
    refused = _websocket_question(second)
    assert refused["type"] == "error" and "the limit is 4 per hour per IP address" in refused["message"]
    assert _ask(first)[0] == 429
    assert UserResponse.objects.count() == LIMIT


def test_a_redis_outage_lets_questions_through_and_the_limit_returns_by_itself(servers, articles, redis_server):
    first, second = servers
    a_fresh_window(3600, needed=60)  # counting starts well inside one hour's window
    before = _series(_metrics(first), "rate_limit_errors_total", kind="questions")
    redis_server.stop()
    try:
        statuses = [_ask(base)[0] for base in (first, second) * 3]
        assert statuses == [200] * 6, "more than the limit, and neither 429 nor 500: the limit fails open"
        assert _websocket_question(second)["type"] == "done"
        unchecked = _series(_metrics(first), "rate_limit_errors_total", kind="questions") - before
        assert unchecked == 7, "every question let through unchecked is counted"
    finally:
        redis_server.start()  # empty again: it keeps nothing on disk
    time.sleep(CACHE_RETRY_SECONDS + 0.5)  # each process tries the cache again after this long
    statuses = [_ask(base)[0] for base in (first, second) * (LIMIT // 2 + 1)]
    assert statuses == [200] * LIMIT + [429, 429]
    assert UserResponse.objects.count() == 6 + 1 + LIMIT
