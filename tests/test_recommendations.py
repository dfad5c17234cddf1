"""Recommendations from a user's own history: reasons, ranking, privacy and a fixed query count."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from faq.answers import ask
from faq.models import ArticleView, Category, FaqDocument, UserResponse
from recommendations.engine import recommend
from supportsite.models import ApiToken

pytestmark = pytest.mark.django_db(transaction=True)

ARTICLES = {
    "Returns and refunds": [
        ("return-policy", "What is your returns policy?", "You can return most items within 30 days."),
        (
            "refund-timeline",
            "When will I get my refund?",
            "Refunds reach your account 5 working days after we receive the return.",
        ),
        ("return-furniture", "How do I return furniture?", "Book a free collection for sofas, beds and tables."),
        ("damaged-item", "My item arrived damaged", "Report damage within 48 hours with photos and we replace it."),
        (
            "exchange-size",
            "Can I exchange an item for another size or colour?",
            "Yes, start an exchange from your orders.",
        ),
        (
            "refund-method",
            "Which payment method is my refund paid to?",
            "Refunds go back to the card or PayPal you paid with.",
        ),
    ],
    "Accounts and sign-in": [
        ("reset-password", "How do I reset my password?", "Use Forgot password on the sign-in page."),
        ("two-factor", "How do I turn on two-factor sign-in?", "Open Security settings and scan the QR code."),
        ("change-email", "How do I change my email address?", "Edit it under Account details and confirm the link."),
        ("delete-account", "How do I delete my account?", "Request deletion under Privacy; it completes in 30 days."),
    ],
}


@pytest.fixture
def help_centre():
    for name, articles in ARTICLES.items():
        category = Category.objects.create(name=name)
        for slug, question, answer in articles:
            FaqDocument.objects.create(slug=slug, question=question, answer=answer, category=category)
    FaqDocument.objects.create(
        slug="staff-refund-limits",
        question="Refund limits for agents (internal)",
        answer="Up to 500 without approval.",
        visibility=FaqDocument.Visibility.STAFF,
        category=Category.objects.get(name="Returns and refunds"),
    )
    FaqDocument.objects.create(
        slug="draft-returns",
        question="New returns portal (draft)",
        answer="Coming soon: return online.",
        status=FaqDocument.Status.DRAFT,
        category=Category.objects.get(name="Returns and refunds"),
    )


def _slugs(recommendations) -> list[str]:
    return [r.document.slug for r in recommendations]


def test_a_user_who_asked_about_returns_gets_returns_articles_with_reasons_and_no_repeats(help_centre):
    ann = User.objects.create_user("ann")
    for question in ("how do I send back a sofa", "my money back has not arrived", "parcel came broken"):
        ask(question, user=ann)
    answered = {r.matched[0]["id"] for r in UserResponse.objects.filter(user=ann, answered=True)}

    picks = recommend(ann, limit=3)

    assert len(picks) == 3
    assert all(p.document.category.name == "Returns and refunds" for p in picks)
    assert not answered & {p.document.pk for p in picks[:2]}, "answers already given are ranked down"
    assert all(p.reason.startswith("Because you asked \u201c") for p in picks)
    assert {p.reason for p in picks} <= {
        f"Because you asked \u201c{q}\u201d"
        for q in ("how do I send back a sofa", "my money back has not arrived", "parcel came broken")
    }
    assert "staff-refund-limits" not in _slugs(recommend(ann, limit=10))
    assert "draft-returns" not in _slugs(recommend(ann, limit=10))


def test_articles_already_read_are_ranked_down(help_centre):
    ann = User.objects.create_user("ann")
    ask("when does my refund arrive", user=ann)
    first = recommend(ann, limit=1)[0].document
    ArticleView.objects.create(user=ann, document=first)
    assert recommend(ann, limit=1)[0].document != first


def test_recent_questions_weigh_more_than_old_ones(help_centre):
    ann = User.objects.create_user("ann")
    ask("how do I turn on two factor authentication", user=ann)
    UserResponse.objects.filter(user=ann).update(created_at=timezone.now() - timedelta(days=120))
    ask("I want a refund for a broken chair", user=ann)
    top = recommend(ann, limit=2)
    assert all(p.document.category.name == "Returns and refunds" for p in top)


def test_new_and_anonymous_users_get_popular_articles_labelled_as_such(help_centre):
    for picks in (recommend(None, limit=3), recommend(User.objects.create_user("new"), limit=3)):
        assert picks and all(p.reason == "Popular in the last 30 days" for p in picks)
        assert "staff-refund-limits" not in _slugs(picks)


def test_a_recommendations_request_makes_a_fixed_number_of_queries_whatever_the_history(help_centre):
    ann = User.objects.create_user("ann")
    counts = []
    for question in (
        "refund please",
        "how do I return a bed",
        "reset password",
        "two factor",
        "change my email",
        "delete my account",
        "exchange size",
        "damaged lamp",
    ):
        ask(question, user=ann)
        with CaptureQueriesContext(connection) as queries:
            recommend(ann, limit=5)
        counts.append(len(queries.captured_queries))
    assert len(set(counts)) == 1, counts
    assert counts[0] <= 5


def _post(client, body, **headers):
    return client.post("/api/recommendations", data=json.dumps(body), content_type="application/json", **headers)


def test_the_api_returns_the_documented_shape(help_centre):
    ann = User.objects.create_user("ann")
    ask("refund not arrived", user=ann)
    client = Client()
    client.force_login(ann)
    body = _post(client, {"user_id": ann.pk, "limit": 2}).json()
    first, _ = body["recommendations"]
    assert set(first) == {"id", "slug", "question", "category", "score", "reason"}
    assert first["reason"] == "Because you asked \u201crefund not arrived\u201d"


def test_no_one_can_read_another_users_recommendations(help_centre):
    ann, bob = User.objects.create_user("ann"), User.objects.create_user("bob")
    ask("refund not arrived", user=bob)
    client = Client()
    client.force_login(ann)
    assert _post(client, {"user_id": bob.pk}).status_code == 403
    assert _post(Client(), {"user_id": bob.pk}).status_code == 401
    _, ann_token = ApiToken.issue(user=ann, name="ann")
    assert _post(Client(), {"user_id": bob.pk}, HTTP_AUTHORIZATION=f"Bearer {ann_token}").status_code == 403
    staff = User.objects.create_user("agent", is_staff=True)
    _, staff_token = ApiToken.issue(user=staff, name="desk")
    response = _post(Client(), {"user_id": bob.pk}, HTTP_AUTHORIZATION=f"Bearer {staff_token}")
    assert response.status_code == 200
    assert response.json()["recommendations"][0]["reason"].startswith("Because you asked")


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 10**9}, "limit"),
        ({"limit": -3}, "limit"),
        ({"limit": "five"}, "limit"),
        ({"user_id": -1}, "user_id"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_recommendation_requests_get_a_422_naming_the_field(body, words):
    response = _post(Client(), body)
    assert response.status_code == 422
    assert words in response.json()["error"]
