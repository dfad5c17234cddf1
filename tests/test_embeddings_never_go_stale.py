"""Every save embeds changed text at once; unchanged text is not sent to the model again."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from io import StringIO

import numpy as np
import pytest
from django.contrib.postgres.search import SearchQuery
from django.core.management import call_command
from django.core.management.base import CommandError

from faq import embeddings
from faq.models import FaqDocument

pytestmark = pytest.mark.django_db


@pytest.fixture
def openai_backend(openai_settings, settings):
    settings.EMBEDDING_BACKEND = "openai"
    settings.OPENAI_EMBEDDING_MODEL = "test-embedding"
    settings.AI_MAX_RETRIES = 1
    settings.AI_TIMEOUT = 2
    return openai_settings


def _embedding_calls(server) -> list[dict]:
    return [r for r in server.requests if r["path"] == "/v1/embeddings"]


def test_saving_new_or_changed_text_embeds_it_and_unchanged_text_does_not(openai_backend):
    doc = FaqDocument.objects.create(question="How do I return a sofa?", answer="Book a collection.")
    assert len(_embedding_calls(openai_backend)) == 1
    assert doc.is_embedded and doc.embedding_model == "test-embedding"

    doc.status = FaqDocument.Status.DRAFT  # not part of the embedded text
    doc.save()
    assert len(_embedding_calls(openai_backend)) == 1

    doc.answer = "Book a collection from your account."
    doc.save()
    assert len(_embedding_calls(openai_backend)) == 2
    doc.refresh_from_db()
    assert doc.embedded_hash == doc.text_hash


def test_the_openai_backend_asks_for_vectors_that_fit_the_column(openai_backend):
    FaqDocument.objects.create(question="Gift cards", answer="They last 36 months.")
    (call,) = _embedding_calls(openai_backend)
    assert call["body"]["dimensions"] == 384
    assert call["body"]["model"] == "test-embedding"


def test_a_failing_backend_still_saves_the_article_as_not_embedded_and_keyword_search_finds_it(openai_backend):
    openai_backend.mode = "error"
    doc = FaqDocument.objects.create(question="Can I pay with Klarna?", answer="Yes, pay in 30 days with Klarna.")
    # One try plus AI_MAX_RETRIES retries, with backoff, then it gives up.
    assert len(_embedding_calls(openai_backend)) == 2
    doc.refresh_from_db()
    assert doc.embedding is None and not doc.is_embedded
    assert FaqDocument.objects.not_embedded().filter(pk=doc.pk).exists()
    assert list(FaqDocument.objects.filter(search_vector=SearchQuery("klarna", config="english"))) == [doc]

    openai_backend.mode = "ok"
    out = StringIO()
    call_command("reembed", "--missing", "--no-progress", stdout=out)
    assert "Embedded 1 article(s); 0 failed." in out.getvalue()
    doc.refresh_from_db()
    assert doc.is_embedded


def test_a_stalled_provider_times_out_instead_of_hanging(openai_backend, settings):
    openai_backend.mode = "stall"
    openai_backend.stall_seconds = 5
    settings.AI_TIMEOUT = 0.3
    settings.AI_MAX_RETRIES = 0
    with pytest.raises(embeddings.EmbeddingError, match="Timeout"):
        embeddings.embed_texts(["hello"])


def test_reembed_missing_exits_non_zero_while_the_backend_is_still_down(openai_backend):
    openai_backend.mode = "error"
    FaqDocument.objects.create(question="Where is my parcel?", answer="Track it.")
    with pytest.raises(CommandError, match="1 article\\(s\\) could not be embedded"):
        call_command("reembed", "--missing", "--no-progress", stdout=StringIO())


def test_the_local_model_is_loaded_once_and_safe_to_call_from_many_threads():
    backend = embeddings.get_backend()
    assert embeddings.get_backend() is backend
    texts = [f"question number {i} about refunds and deliveries" for i in range(24)]
    serial = np.array(backend.embed(texts))
    with ThreadPoolExecutor(max_workers=6) as pool:
        parallel = np.array([v for batch in pool.map(lambda t: backend.embed([t]), texts) for v in batch])
    assert serial.shape == (24, 384)
    assert np.allclose(serial, parallel, atol=1e-4)
    assert np.allclose(np.linalg.norm(serial, axis=1), 1.0, atol=1e-5)


def test_the_local_model_ranks_a_paraphrase_above_an_unrelated_question():
    q, para, other = np.array(
        embeddings.embed_texts(
            ["I forgot my password", "How do I reset my password?", "When will my sofa be delivered?"]
        )
    )
    assert q @ para > 0.6 > q @ other


def test_repeated_queries_reuse_the_cached_vector(openai_backend):
    embeddings.embed_query("Where is my ORDER?")
    embeddings.embed_query("where is   my order?")
    assert len(_embedding_calls(openai_backend)) == 1
