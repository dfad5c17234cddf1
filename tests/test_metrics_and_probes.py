"""/metrics, /healthz, /readyz and request ids, read the way Prometheus and a load balancer do."""

from __future__ import annotations

import json
import logging
import re

import pytest
from django.test import Client

from faq.feedback import answer_token
from faq.models import FaqDocument
from supportsite.logs import JsonFormatter, RequestIdFilter

pytestmark = pytest.mark.django_db(transaction=True)


def _series(text: str, name: str, **labels: str) -> float:
    """The value of one series in Prometheus text format (0 when absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    total = 0.0
    for line in text.splitlines():
        match = re.match(rf"^{re.escape(name)}(?:\{{(.*)\}})? (\S+)$", line)
        if match:
            found = ",".join(sorted((match.group(1) or "").split(","))) if match.group(1) else ""
            if all(part in found.split(",") for part in wanted.split(",") if part):
                total += float(match.group(2))
    return total


def _metrics(client: Client | None = None) -> str:
    response = (client or Client()).get("/metrics", REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 200
    return response.content.decode()


def _ask(query: str) -> dict:
    response = Client().post("/api/ai_faq_search", data=json.dumps({"query": query}), content_type="application/json")
    assert response.status_code == 200
    return response.json()


@pytest.fixture
def article():
    return FaqDocument.objects.create(
        slug="reset-password", question="How do I reset my password?", answer="Use **Forgot password?**."
    )


def test_a_search_moves_the_query_embedding_answer_and_request_series(article):
    before = _metrics()
    _ask("I forgot my password")
    _ask("what is the weather on mars")
    after = _metrics()
    for name, labels in [
        ("database_query_time_seconds_count", {"query_type": "vector_search"}),
        ("database_query_time_seconds_count", {"query_type": "history_insert"}),
        ("ai_embedding_seconds_count", {"backend": "local"}),
        ("ai_answers_total", {"outcome": "answered"}),
        ("ai_answers_total", {"outcome": "abstained"}),
        ("django_http_requests_total_by_view_transport_method_total", {"method": "POST"}),
        ("django_model_inserts_total", {"model": "user_response"}),
    ]:
        assert _series(after, name, **labels) > _series(before, name, **labels), (name, labels)


def test_the_pool_gauges_read_the_live_psycopg_pool(article):
    _ask("I forgot my password")
    text = _metrics()
    size, available = _series(text, "database_pool_size"), _series(text, "database_pool_available")
    assert size >= 1 and 0 <= available <= size


def test_articles_not_embedded_are_counted(article):
    FaqDocument.objects.update(embedding=None)
    assert _series(_metrics(), "faq_articles_not_embedded") == 1


def test_feedback_and_ai_fallbacks_are_counted(article, openai_settings, settings):
    settings.ANSWER_MODE, settings.AI_MAX_RETRIES = "openai", 0
    openai_settings.mode = "error"
    before = _metrics()
    body = _ask("I forgot my password")
    assert body["answer_mode"] == "extractive"
    from faq.models import UserResponse

    row = UserResponse.objects.get()
    Client().post("/feedback", {"response": answer_token(row.pk), "helpful": "no"})
    after = _metrics()
    assert _series(after, "ai_fallbacks_total", reason="InternalServerError") > _series(
        before, "ai_fallbacks_total", reason="InternalServerError"
    )
    assert _series(after, "feedback_total", value="not_helpful") > _series(
        before, "feedback_total", value="not_helpful"
    )


def test_generated_answers_count_llm_time_and_tokens(article, openai_settings, settings):
    settings.ANSWER_MODE = "openai"
    before = _metrics()
    assert _ask("I forgot my password")["answer_mode"] == "openai"
    after = _metrics()
    assert _series(after, "ai_llm_seconds_count") > _series(before, "ai_llm_seconds_count")
    assert _series(after, "ai_llm_tokens_total", kind="completion") > _series(
        before, "ai_llm_tokens_total", kind="completion"
    )


def test_database_errors_are_counted_by_type():
    from django.db import connection

    before = _metrics()
    with pytest.raises(Exception), connection.cursor() as cursor:  # noqa: B017 - any database error
        cursor.execute("SELECT * FROM no_such_table")
    assert _series(_metrics(), "database_errors_total", error_type="ProgrammingError") > _series(
        before, "database_errors_total", error_type="ProgrammingError"
    )


def test_metrics_are_refused_outside_the_allowed_networks_unless_the_token_is_sent(settings):
    response = Client().get("/metrics", REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 403 and "METRICS_ALLOWED_NETWORKS" in response.json()["error"]
    settings.METRICS_TOKEN = "s3cret-metrics"
    assert Client().get("/metrics", REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    ok = Client().get("/metrics", REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer s3cret-metrics")
    assert ok.status_code == 200 and b"database_query_time_seconds" in ok.content


def test_healthz_and_readyz_answer_json():
    assert Client().get("/healthz").json() == {"status": "ok"}
    ready = Client().get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "ready"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["vector_extension"].startswith("ok")
    assert body["checks"]["embedding_backend"] == "ok (all-MiniLM-L6-v2-int8)"


def test_readyz_checks_the_configured_embedding_backend(settings, openai_settings):
    settings.EMBEDDING_BACKEND = "openai"
    settings.OPENAI_EMBEDDING_MODEL = "provider-model"
    assert Client().get("/readyz").json()["checks"]["embedding_backend"] == "ok (provider-model)"


def test_every_response_carries_a_request_id_and_keeps_a_safe_incoming_one():
    generated = Client().get("/healthz")["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    assert Client().get("/healthz", HTTP_X_REQUEST_ID="lb-42.a")["X-Request-ID"] == "lb-42.a"
    unsafe = Client().get("/healthz", HTTP_X_REQUEST_ID="bad id\r\ninjected")["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", unsafe)


def test_log_lines_of_a_request_carry_its_id_as_json(article, caplog):
    caplog.handler.addFilter(RequestIdFilter())
    with caplog.at_level(logging.WARNING):
        Client().post(
            "/api/ai_faq_search",
            data=json.dumps({"query": "password", "category": "nope"}),
            content_type="application/json",
            HTTP_X_REQUEST_ID="trace-7",
        )
        logging.getLogger("faq.test").warning("inside the request? no: after it")
    records = [r for r in caplog.records if getattr(r, "request_id", "") == "trace-7"]
    assert records, [(r.name, r.getMessage(), getattr(r, "request_id", None)) for r in caplog.records]
    line = json.loads(JsonFormatter().format(records[0]))
    assert line["request_id"] == "trace-7" and {"time", "level", "logger", "message"} <= set(line)


def test_metrics_files_changing_while_read_get_a_503_to_retry_never_a_500(monkeypatch, tmp_path):
    """Multiprocess mode: a worker's file half-written or vanishing while /metrics reads the
    directory (a worker restarting) is read again; if it stays unreadable, 503 with Retry-After."""
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    broken = tmp_path / "counter_4242.db"
    broken.write_bytes((1 << 20).to_bytes(4, "little") + b"\0" * 60)  # claims 1 MiB used; holds 64 bytes

    response = Client().get("/metrics", REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 503
    assert response["Retry-After"] == "1"
    assert "try again" in response.json()["error"]

    broken.unlink()
    response = Client().get("/metrics", REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 200
