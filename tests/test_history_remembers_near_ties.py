"""A question whose best two articles were nearly tied is remembered as such: the dashboard and the
stored answer offer both articles again ("Is it one of these?") instead of showing the first one's
text as the answer the customer was given."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from faq.feedback import answer_url
from faq.models import UserResponse
from tests.conftest import add_articles

pytestmark = pytest.mark.django_db(transaction=True)

QUESTION = "how do I track my order"


@pytest.fixture
def customer(settings) -> Client:
    settings.NEAR_TIE_MARGIN = 1.0  # every answered search with two articles is "tied"
    add_articles("reset-password", "track-order")
    client = Client()
    client.force_login(User.objects.create_user("ana"))
    return client


def test_a_tied_question_is_stored_as_tied_and_offered_again_on_the_dashboard_and_its_page(customer):
    assert "Is it one of these?" in customer.get("/search", {"q": QUESTION}).content.decode()
    row = UserResponse.objects.get()
    assert row.nearly_tied and row.answered

    dashboard = customer.get("/dashboard/").content.decode()
    assert "Two articles matched almost equally well." in dashboard
    stored = customer.get(answer_url(row.pk)).content.decode()
    assert "Is it one of these?" in stored
    assert "How can I track my order?" in stored and "How do I reset my password?" in stored
    assert "data-answer-text" not in stored


def test_a_clear_answer_is_stored_as_not_tied(customer, settings):
    settings.NEAR_TIE_MARGIN = 0.0
    customer.get("/search", {"q": QUESTION})
    assert UserResponse.objects.get().nearly_tied is False
    assert "data-answer-text" in customer.get(answer_url(UserResponse.objects.get().pk)).content.decode()
