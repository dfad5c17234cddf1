"""POST /api/ai_faq_search: the contract, the history row, and who may act for whom."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import User
from django.test import AsyncClient, Client

from faq.models import FaqDocument, UserResponse
from supportsite.models import ApiToken
from tests.conftest import add_articles, category

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/api/ai_faq_search"


@pytest.fixture
def articles():
    add_articles("reset-password", "track-order")
    FaqDocument.objects.create(
        slug="draft-secret",
        question="How do I reset my password on the new app?",
        category=category("accounts"),
        answer="Unreleased.",
        status=FaqDocument.Status.DRAFT,
    )


def _post(client, body, **headers):
    return client.post(URL, data=json.dumps(body), content_type="application/json", **headers)


@pytest.mark.asyncio
@pytest.mark.usefixtures("async_orm")
async def test_an_answerable_question_gets_the_article_and_one_history_row(articles):
    response = await AsyncClient().post(
        URL,
        {"query": "I forgot my password", "user_id": None, "category": None},
        content_type="application/json",
        headers={"X-Request-ID": "req-123"},
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"response", "answered", "answer_mode", "request_id", "documents", "nearly_tied"}
    assert body["answered"] is True and body["answer_mode"] == "extractive" and body["nearly_tied"] is False
    assert "Forgot password?" in body["response"]
    assert body["request_id"] == "req-123" and response.headers["X-Request-ID"] == "req-123"
    top = body["documents"][0]
    assert set(top) == {"id", "slug", "question", "category", "similarity", "url"}
    assert top["slug"] == "reset-password" and top["category"] == "Accounts and sign-in"
    assert top["url"].endswith("/articles/reset-password/")
    assert "draft-secret" not in [d["slug"] for d in body["documents"]]
    row = await UserResponse.objects.aget()
    assert row.query == "I forgot my password" and row.answered and row.user_id is None
    assert len(row.query_embedding) == 384 and row.matched[0]["id"] == top["id"]
    assert row.request_id == "req-123" and row.answer_mode == "extractive"


def test_an_off_topic_question_abstains_honestly_with_the_closest_articles(articles):
    body = _post(Client(), {"query": "What will the weather be in Lisbon tomorrow?"}).json()
    assert body["answered"] is False
    assert "could not find an answer" in body["response"]
    assert body["documents"], "the closest articles are still offered"
    assert UserResponse.objects.get().answered is False


def test_a_category_narrows_the_search_and_an_unknown_one_is_named(articles):
    body = _post(Client(), {"query": "I forgot my password", "category": "orders"}).json()
    assert [d["slug"] for d in body["documents"]] == ["track-order"]
    response = _post(Client(), {"query": "password", "category": "nonsense"})
    assert response.status_code == 422
    assert "category: There is no category “nonsense”" in response.json()["error"]
    assert UserResponse.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "words"),
    [
        # One wording per refusal (faq/inputs.py), the same as on the search page, after the field's name.
        ({"query": "   "}, "query: Your question is empty. Type a question to search the help centre."),
        ({"query": "x" * 1001}, "query: Your question is 1001 characters; the limit is 1000 (QUERY_MAX_LENGTH)."),
        ({"query": "a\u0000b"}, "query: Your question contains a NUL character"),
        ({"query": 42}, "query"),
        ({"query": "hi", "user_id": "me"}, "user_id"),
        ({"query": "hi", "colour": "red"}, "colour"),
        ({}, "query"),
    ],
)
def test_bad_input_gets_a_422_naming_the_problem_and_stores_nothing(articles, body, words):
    response = _post(Client(), body)
    assert response.status_code == 422
    assert words in response.json()["error"]
    assert not UserResponse.objects.exists()


def test_an_anonymous_caller_may_not_name_a_user(articles):
    user = User.objects.create_user("ann")
    response = _post(Client(), {"query": "password", "user_id": user.pk})
    assert response.status_code == 401
    assert not UserResponse.objects.exists()


def test_a_signed_in_user_acts_only_for_themselves(articles):
    ann, bob = User.objects.create_user("ann"), User.objects.create_user("bob")
    client = Client()
    client.force_login(ann)
    assert _post(client, {"query": "password", "user_id": bob.pk}).status_code == 403
    assert _post(client, {"query": "password", "user_id": ann.pk}).status_code == 200
    assert _post(client, {"query": "track my parcel"}).status_code == 200
    assert list(UserResponse.objects.values_list("user__username", flat=True)) == ["ann", "ann"]


def test_a_session_caller_must_pass_the_csrf_check(articles):
    ann = User.objects.create_user("ann")
    client = Client(enforce_csrf_checks=True)
    client.force_login(ann)
    assert _post(client, {"query": "password"}).status_code == 403
    client.get("/dashboard/")  # a page with a form (sign out) sets the csrftoken cookie
    token = client.cookies["csrftoken"].value
    assert _post(client, {"query": "password"}, HTTP_X_CSRFTOKEN=token).status_code == 200


def test_a_staff_token_acts_for_any_user_and_a_customer_token_only_for_itself(articles):
    staff = User.objects.create_user("agent", is_staff=True)
    ann, bob = User.objects.create_user("ann"), User.objects.create_user("bob")
    _, staff_token = ApiToken.issue(user=staff, name="support widget")
    _, ann_token = ApiToken.issue(user=ann, name="ann's script")
    client = Client(enforce_csrf_checks=True)  # tokens need no CSRF token: no cookie is involved

    assert (
        _post(client, {"query": "password", "user_id": bob.pk}, HTTP_AUTHORIZATION=f"Bearer {staff_token}").status_code
        == 200
    )
    assert (
        _post(client, {"query": "password", "user_id": bob.pk}, HTTP_AUTHORIZATION=f"Bearer {ann_token}").status_code
        == 403
    )
    assert (
        _post(client, {"query": "password", "user_id": ann.pk}, HTTP_AUTHORIZATION=f"Bearer {ann_token}").status_code
        == 200
    )
    assert (
        _post(client, {"query": "password", "user_id": 999999}, HTTP_AUTHORIZATION=f"Bearer {staff_token}").status_code
        == 404
    )
    assert list(UserResponse.objects.order_by("pk").values_list("user__username", flat=True)) == ["bob", "ann"]


def test_a_revoked_or_wrong_token_is_refused(articles):
    staff = User.objects.create_user("agent", is_staff=True)
    token, plain = ApiToken.issue(user=staff, name="old")
    assert ApiToken.objects.get().token_hash != plain and plain not in str(ApiToken.objects.values().get())
    token.revoke()
    for value in (plain, "sst_not-a-token"):
        response = _post(Client(), {"query": "password"}, HTTP_AUTHORIZATION=f"Bearer {value}")
        assert response.status_code == 401
        assert "API token is not valid" in response.json()["error"]


def test_the_openapi_schema_and_docs_page_describe_the_endpoint():
    schema = Client().get("/api/openapi.json").json()
    operation = schema["paths"]["/api/ai_faq_search"]["post"]
    assert "requestBody" in operation
    assert Client().get("/api/docs").status_code == 200
