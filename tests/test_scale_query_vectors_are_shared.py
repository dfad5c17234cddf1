"""With REDIS_URL, a question asked on one process is not embedded again on another: query
vectors are shared through Redis. Without Redis (or while it is down) each process embeds for
itself and answers just the same."""

from __future__ import annotations

import json
import urllib.request

import pytest

from tests.conftest import add_articles, daphne_pair
from tests.test_metrics_and_probes import _series

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def servers(django_db_setup, django_db_blocker, redis_server):
    # No PROMETHEUS_MULTIPROC_DIR: each process's /metrics counts only its own model calls.
    with daphne_pair(django_db_blocker, REDIS_URL=redis_server.url) as pair:
        yield pair


def _ask(base: str, query: str) -> dict:
    body = json.dumps({"query": query}).encode()
    request = urllib.request.Request(
        base + "/api/ai_faq_search", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200
        return json.loads(response.read())


def _model_calls(base: str) -> float:
    with urllib.request.urlopen(base + "/metrics", timeout=30) as response:
        text = response.read().decode()
    return _series(text, "ai_embedding_seconds_count", backend="local") or 0.0


def test_a_question_embedded_on_one_process_is_reused_by_the_other(servers, fresh_redis):
    add_articles("reset-password", "track-order")
    first, second = servers
    query = "my parcel tracking link says nothing since monday"

    before = (_model_calls(first), _model_calls(second))
    one = _ask(first, query)
    assert _model_calls(first) == before[0] + 1, "the first process embedded the new question once"
    assert any(key.startswith(b"supportsite:") and b"qvec:" in key for key in fresh_redis.client().keys("*"))

    # Differently spaced and cased: the same normalised question.
    two = _ask(second, "  My parcel tracking link says NOTHING since monday ")
    assert _model_calls(second) == before[1], "the second process took the vector from Redis"
    assert [d["slug"] for d in two["documents"]] == [d["slug"] for d in one["documents"]]
    assert [d["similarity"] for d in two["documents"]] == [d["similarity"] for d in one["documents"]]


def test_while_redis_is_down_each_process_embeds_for_itself(servers, fresh_redis):
    add_articles("reset-password", "track-order")
    _, second = servers
    fresh_redis.stop()
    try:
        before = _model_calls(second)
        answer = _ask(second, "how do I change the password I forgot")
        assert answer["documents"][0]["slug"] == "reset-password"
        assert _model_calls(second) == before + 1
    finally:
        fresh_redis.start()
