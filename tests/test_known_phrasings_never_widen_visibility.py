"""A phrasing answers only for readers who may see its article: visibility is the article's."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from faq.models import FaqDocument, KnownPhrasing
from faq.search import search
from tests.known_phrasings import ODD_QUESTION, customer, help_centre

# transaction=True: the API's async view reads on its own connection.
pytestmark = pytest.mark.django_db(transaction=True)


def test_a_staff_only_articles_phrasings_never_answer_a_customer():
    documents = help_centre()
    KnownPhrasing.objects.create(document=documents["staff-refund-override"], text=ODD_QUESTION)
    staff = User.objects.create_user("agent", password="pw", is_staff=True)
    for reader in (None, customer("carol")):
        result = search(ODD_QUESTION, user=reader)
        assert "staff-refund-override" not in [hit.document.slug for hit in result.hits]
        assert not result.answered
    assert search(ODD_QUESTION, user=staff).hits[0].document.slug == "staff-refund-override"
    body = Client().post("/api/ai_faq_search", {"query": ODD_QUESTION}, content_type="application/json").json()
    assert "staff-refund-override" not in [d["slug"] for d in body["documents"]]


def test_a_drafts_phrasings_never_answer_anyone():
    documents = help_centre()
    draft = documents["where-is-my-order"]
    draft.status = FaqDocument.Status.DRAFT
    draft.save()
    KnownPhrasing.objects.create(document=draft, text=ODD_QUESTION)
    staff = User.objects.create_user("agent", password="pw", is_staff=True)
    assert "where-is-my-order" not in [hit.document.slug for hit in search(ODD_QUESTION, user=staff).hits]
