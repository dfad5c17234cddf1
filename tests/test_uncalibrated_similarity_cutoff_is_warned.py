"""A model with no calibrated cut-off (any OpenAI model, a changed local model) does not silently use
MiniLM's 0.45: /readyz and `serve` at start-up warn that SIMILARITY_CUTOFF is uncalibrated for it
and say how to calibrate it; the process stays ready."""

from __future__ import annotations

import sys

import pytest
from django.test import Client

from faq.search import similarity_cutoff
from tests.conftest import app_process, server_env
from tests.openai_server import API_KEY

pytestmark = pytest.mark.django_db(transaction=True)


def _cutoff_check() -> tuple[int, str]:
    response = Client().get("/readyz")
    return response.status_code, response.json()["checks"]["similarity_cutoff"]


def test_minilm_reports_its_calibrated_cutoff():
    status, check = _cutoff_check()
    assert status == 200
    assert check == "ok (0.45, calibrated for all-MiniLM-L6-v2-int8)"


def test_an_openai_model_is_reported_uncalibrated_and_the_process_stays_ready(openai_settings, settings):
    settings.EMBEDDING_BACKEND = "openai"
    settings.OPENAI_EMBEDDING_MODEL = "text-embedding-3-small"
    settings.EMBEDDING_DIMENSIONS = 1536
    status, check = _cutoff_check()
    assert status == 200
    assert check.startswith("warning: SIMILARITY_CUTOFF is uncalibrated for the embedding model text-embedding-3-small")
    assert "bench/retrieval.py" in check and "0.45" in check
    assert similarity_cutoff() == 0.45, "search still works with the fallback"


def test_a_changed_local_model_without_a_measured_cutoff_is_reported_uncalibrated(settings):
    settings.SIMILARITY_CUTOFFS = {"some-other-model": 0.6}
    _, check = _cutoff_check()
    assert check.startswith("warning:") and "embedding model all-MiniLM-L6-v2-int8:" in check


def test_a_cutoff_the_operator_set_is_their_calibration(settings):
    settings.SIMILARITY_CUTOFFS = {}
    settings.SIMILARITY_CUTOFF = 0.52
    assert _cutoff_check()[1] == "ok (0.52, set by SIMILARITY_CUTOFF)"


def test_serve_warns_at_start_up(django_db_blocker, openai_server):
    with django_db_blocker.unblock():
        env = server_env(
            EMBEDDING_BACKEND="openai",
            OPENAI_API_KEY=API_KEY,
            OPENAI_BASE_URL=openai_server.base_url,
            OPENAI_EMBEDDING_MODEL="text-embedding-3-small",
        )

    def argv(port: int) -> list[str]:
        return [sys.executable, "manage.py", "serve", "--no-migrate", "--port", str(port)]

    with app_process(argv, env) as (_, process):
        log = process.log_path.read_text()
    assert "Warning: SIMILARITY_CUTOFF is uncalibrated for the embedding model text-embedding-3-small" in log, log
