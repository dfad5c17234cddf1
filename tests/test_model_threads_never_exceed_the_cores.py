"""EMBEDDING_THREADS and EMBEDDING_QUERY_THREADS above the cores are capped: more model threads only oversubscribe."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT


@pytest.mark.parametrize("setting", ["EMBEDDING_THREADS", "EMBEDDING_QUERY_THREADS"])
def test_model_threads_above_the_cores_are_capped_at_the_cores(setting):
    env = {**os.environ, setting: "64", "SECRET_KEY": "insecure-test-only-key"}
    env["DJANGO_SETTINGS_MODULE"] = "supportsite.settings"
    out = subprocess.run(
        [sys.executable, "-c", f"from django.conf import settings; print(settings.{setting})"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert int(out) == os.cpu_count()


def test_a_question_and_an_article_with_the_same_text_get_the_same_vector(settings):
    """Questions run on their own session (EMBEDDING_QUERY_THREADS), articles on EMBEDDING_THREADS:
    the thread counts must not change the vectors, or a question would not find its own article."""
    import numpy as np

    from faq import embeddings

    settings.EMBEDDING_THREADS, settings.EMBEDDING_QUERY_THREADS = 2, 1
    # The same kernel for both (the questions' own is close, not equal: test_questions_run_the_token_int8_kernel.py).
    settings.LOCAL_QUESTION_KERNEL = "float"
    backend = embeddings.get_backend()
    assert backend.query_session is not backend.session
    texts = ["How do I reset my password?", "Where is my parcel? It has been a week since I ordered it."]
    as_articles = np.array(backend.embed(texts))
    as_questions = np.array(backend.embed(texts, queries=True))
    assert np.allclose(as_articles, as_questions, atol=1e-5)
