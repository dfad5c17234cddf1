"""Approved known phrasings rank their article in the one search path; pending and rejected ones,
and articles without phrasings, leave results exactly as they were."""

from __future__ import annotations

import pytest
from django.test import Client

from faq.models import KnownPhrasing
from faq.search import search
from tests.known_phrasings import ODD_QUESTION, help_centre

# transaction=True: the API's async view reads on its own connection.
pytestmark = pytest.mark.django_db(transaction=True)


def _ranked(query: str, user=None) -> list[tuple[str, float]]:
    result = search(query, user=user, limit=5)
    return [(hit.document.slug, round(hit.similarity, 6)) for hit in result.hits]


def test_an_approved_phrasing_answers_a_question_its_article_alone_does_not():
    documents = help_centre()
    before = search(ODD_QUESTION)
    assert not before.answered
    KnownPhrasing.objects.create(document=documents["where-is-my-order"], text=ODD_QUESTION)
    after = search(ODD_QUESTION)  # searchable as soon as it is saved
    assert after.answered
    assert after.hits[0].document.slug == "where-is-my-order"
    assert after.hits[0].matched_by == "phrasing"
    assert after.hits[0].similarity > 0.99


def test_pending_and_rejected_phrasings_leave_results_exactly_as_without_phrasings():
    documents = help_centre()
    queries = [ODD_QUESTION, "where is my parcel", "I forgot my password"]
    without = [_ranked(q) for q in queries]
    for status in (KnownPhrasing.Status.PENDING, KnownPhrasing.Status.REJECTED):
        text = f"{ODD_QUESTION} {status}"
        KnownPhrasing.objects.create(document=documents["reset-password"], text=text, status=status)
    assert [_ranked(q) for q in queries] == without


def test_an_article_with_many_matching_phrasings_is_one_result():
    documents = help_centre()
    for text in ("where is my parcel", "where is my parcel now", "where's my parcel"):
        KnownPhrasing.objects.create(document=documents["where-is-my-order"], text=text)
    slugs = [slug for slug, _ in _ranked("where is my parcel")]
    assert slugs.count("where-is-my-order") == 1
    assert slugs[0] == "where-is-my-order"


def test_the_api_answers_through_a_phrasing():
    documents = help_centre()
    KnownPhrasing.objects.create(document=documents["where-is-my-order"], text=ODD_QUESTION)
    body = Client().post("/api/ai_faq_search", {"query": ODD_QUESTION}, content_type="application/json").json()
    assert body["answered"] is True
    assert body["documents"][0]["slug"] == "where-is-my-order"


def test_saving_a_phrasing_with_unchanged_text_does_not_embed_it_again():
    documents = help_centre()
    phrasing = KnownPhrasing.objects.create(document=documents["where-is-my-order"], text="where is my parcel")
    marker = [0.0] * len(phrasing.embedding)
    marker[0] = 1.0
    KnownPhrasing.objects.filter(pk=phrasing.pk).update(embedding=marker)
    phrasing.refresh_from_db()
    phrasing.status = KnownPhrasing.Status.APPROVED
    phrasing.save()
    phrasing.refresh_from_db()
    assert list(phrasing.embedding) == marker  # the model was not asked again
    phrasing.text = "where is my parcel today"
    phrasing.save()
    phrasing.refresh_from_db()
    assert list(phrasing.embedding) != marker
