"""Two server processes, one Prometheus view: with PROMETHEUS_MULTIPROC_DIR the figures add up."""

from __future__ import annotations

import json
import urllib.request

import pytest

from tests.conftest import daphne_server
from tests.test_metrics_and_probes import _series


def _post(base: str, query: str) -> None:
    request = urllib.request.Request(
        base + "/api/ai_faq_search",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200


def _metrics(base: str) -> str:
    with urllib.request.urlopen(base + "/metrics", timeout=30) as response:
        return response.read().decode()


@pytest.mark.django_db(transaction=True)
def test_counters_from_two_processes_add_up_in_either_ones_metrics(django_db_blocker, tmp_path):
    env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    with daphne_server(django_db_blocker, **env) as first, daphne_server(django_db_blocker, **env) as second:
        _post(first, "what is the capital of peru")
        _post(second, "how tall is mount everest")
        _post(second, "who wrote hamlet")
        for base in (first, second):
            text = _metrics(base)
            assert _series(text, "ai_answers_total", outcome="abstained") == 3
            assert _series(text, "database_query_time_seconds_count", query_type="history_insert") == 3
            # Each process has its own pool; the gauge sums the live ones.
            assert _series(text, "database_pool_size") >= 2
