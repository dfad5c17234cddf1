"""Every labelled counter the README lists is exported at 0 for its known label values by a fresh
server, so `rate(database_errors_total[5m]) > 0` reads 0 rather than "no data" before the first error."""

from __future__ import annotations

import re

import pytest
import requests

from tests.conftest import daphne_server

pytestmark = pytest.mark.django_db(transaction=True)

EXPECTED = {
    "database_errors_total": [{"error_type": "OperationalError"}, {"error_type": "ProgrammingError"}],
    "ai_fallbacks_total": [{"reason": "APITimeoutError"}, {"reason": "APIConnectionError"}],
    "rate_limited_total": [{"kind": kind} for kind in ("questions", "suggestions", "recommendations")],
    "rate_limit_errors_total": [{"kind": "questions"}, {"kind": "password_resets"}],
    "ai_embedding_errors_total": [{"backend": "local"}],
    "channel_layer_errors_total": [{"operation": op} for op in ("receive", "group_add", "group_send")],
    "ai_answers_total": [{"outcome": outcome} for outcome in ("answered", "abstained", "degraded")],
    "feedback_total": [{"value": "helpful"}, {"value": "not_helpful"}],
}


def _values(text: str, name: str) -> dict[frozenset, float]:
    found = {}
    for labels, value in re.findall(rf"^{re.escape(name)}\{{(.*)\}} (\S+)$", text, re.MULTILINE):
        found[frozenset(re.findall(r'(\w+)="([^"]*)"', labels))] = float(value)
    return found


def test_a_fresh_server_exports_every_labelled_counter_at_zero(django_db_blocker):
    with daphne_server(django_db_blocker) as url:
        text = requests.get(url + "/metrics", timeout=30).text
    for name, series in EXPECTED.items():
        values = _values(text, name)
        for labels in series:
            key = frozenset(labels.items())
            assert key in values, f"{name}{labels} is missing from /metrics"
            assert values[key] == 0, f"{name}{labels} is {values[key]} on a fresh server"


def test_with_an_openai_key_the_token_counters_start_at_zero_too(django_db_blocker):
    with daphne_server(django_db_blocker, OPENAI_API_KEY="sk-test", OPENAI_CHAT_MODEL="test-chat") as url:
        text = requests.get(url + "/metrics", timeout=30).text
    values = _values(text, "ai_llm_tokens_total")
    for kind in ("prompt", "completion"):
        assert values.get(frozenset({("model", "test-chat"), ("kind", kind)})) == 0, kind
