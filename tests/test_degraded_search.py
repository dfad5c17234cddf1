"""When the embedding provider fails, search still answers from keywords, says it is degraded, and
returns to normal answers as soon as the provider is back."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.test import Client

from faq.answers import DEGRADED_TEXT
from faq.models import UserResponse
from tests.conftest import add_articles

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def provider(openai_settings, settings):
    """The help centre on the OpenAI-compatible provider, its articles embedded there, then failing."""
    # Created with the local model (the provider is not configured yet), then embedded by the
    # provider while it works: the state of a site that has been running on it.
    add_articles("reset-password", "track-order", "return-window", "refund-timing")
    settings.EMBEDDING_BACKEND = "openai"
    settings.AI_MAX_RETRIES = 0
    settings.AI_TIMEOUT = 5.0
    call_command("reembed", "--missing", "--no-progress")
    openai_settings.mode = "error"
    openai_settings.requests.clear()
    return openai_settings


def _ask(query: str) -> dict:
    response = Client().post("/api/ai_faq_search", data=json.dumps({"query": query}), content_type="application/json")
    assert response.status_code == 200, response.content
    return response.json()


def _embedding_calls(server) -> list[dict]:
    return [r["body"] for r in server.requests if r["path"] == "/v1/embeddings"]


def test_a_failing_embedding_provider_gives_keyword_results_marked_degraded(provider):
    # Every query in this file is new: a cached query vector would hide the failure.
    body = _ask("refund account working days")

    assert body["answer_mode"] == "keyword" and body["answered"] is False
    assert body["response"] == DEGRADED_TEXT and "reduced mode" in body["response"]
    # Found by their words: the article with all of them first, then one that shares "refund", "days".
    assert [d["slug"] for d in body["documents"]] == ["refund-timing", "return-window"]
    assert all(d["similarity"] == 0 for d in body["documents"])  # no vectors were compared
    assert _embedding_calls(provider), "the query was sent to the provider, which failed"
    stored = UserResponse.objects.get()
    assert stored.answer_mode == "keyword" and stored.answered is False


def test_the_search_page_shows_the_keyword_only_note_and_the_matching_articles(provider):
    page = Client().get("/search", {"q": "track parcel delivery"})

    assert page.status_code == 200
    html = page.content.decode()
    assert "data-keyword-only" in html and "keyword-only mode" in html
    assert "How can I track my order?" in html
    assert "No answer found" in html  # no answer is written from keywords alone
    assert _embedding_calls(provider)


def test_answers_are_normal_again_once_the_provider_recovers(provider):
    assert _ask("where is my order parcel track")["answer_mode"] == "keyword"

    provider.mode = "ok"
    body = _ask("how can I track my order parcel")

    assert body["answer_mode"] == "extractive" and body["answered"] is True
    assert body["response"] != DEGRADED_TEXT
    assert body["documents"][0]["slug"] == "track-order"
    page = Client().get("/search", {"q": "how do I reset my password"})
    assert page.status_code == 200
    assert "data-keyword-only" not in page.content.decode()
