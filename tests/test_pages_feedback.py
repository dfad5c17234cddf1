"""POST /feedback: "Was this helpful?" on an answer or an article, CSRF-protected."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from faq.feedback import answer_token
from faq.models import FaqDocument, Feedback, UserResponse

pytestmark = pytest.mark.django_db


@pytest.fixture
def document():
    return FaqDocument.objects.create(
        slug="return-window",
        question="How long do I have to return an item?",
        answer="You have **30 days** from delivery.",
    )


def _response(user=None) -> UserResponse:
    return UserResponse.objects.create(
        user=user, query="can I send it back", response="30 days", answered=True, answer_mode="extractive"
    )


def _csrf_client(path: str = "/articles/return-window/") -> tuple[Client, str]:
    """A client that enforces CSRF like a browser, and the token from a page's form."""
    client = Client(enforce_csrf_checks=True)
    client.get(path)
    return client, client.cookies["csrftoken"].value


def test_feedback_on_an_article_is_stored_and_thanked_after_a_redirect(document):
    client, token = _csrf_client()
    response = client.post(
        "/feedback",
        {"csrfmiddlewaretoken": token, "document": "return-window", "helpful": "no", "comment": "Say which items."},
    )
    assert response.status_code == 302 and response["Location"] == "/articles/return-window/#feedback"
    stored = Feedback.objects.get()
    assert stored.document == document and stored.helpful is False and stored.comment == "Say which items."
    assert stored.user is None
    page = client.get(response["Location"])
    assert "Thanks for your feedback!" in page.content.decode()


def test_feedback_on_an_answer_is_stored_for_the_signed_in_user(document):
    user = User.objects.create_user("ana", password="pw-123456789")
    answer = _response(user)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    client.get("/articles/return-window/")
    token = client.cookies["csrftoken"].value
    fields = {"csrfmiddlewaretoken": token, "response": answer_token(answer.pk), "helpful": "yes"}
    response = client.post("/feedback", fields)
    # Back to the same answer (stored, so the question is not asked again), at the feedback area.
    assert response.status_code == 302
    assert response["Location"] == f"/answers/{answer_token(answer.pk)}/#feedback"
    assert "Thanks for your feedback!" in client.get(response["Location"]).content.decode()
    stored = Feedback.objects.get()
    assert stored.response == answer and stored.helpful is True and stored.user == user


def test_feedback_without_a_csrf_token_is_refused(document):
    client, _ = _csrf_client()
    response = client.post("/feedback", {"document": "return-window", "helpful": "yes"})
    assert response.status_code == 403
    assert "Please try that again" in response.content.decode()
    assert Feedback.objects.count() == 0


def test_feedback_only_accepts_post():
    assert Client().get("/feedback").status_code == 405


def test_scripts_get_json_back_instead_of_a_redirect(document):
    client, token = _csrf_client()
    response = client.post(
        "/feedback",
        {"csrfmiddlewaretoken": token, "document": "return-window", "helpful": "yes"},
        headers={"Accept": "application/json"},
    )
    body = response.json()
    assert response.status_code == 200 and body["ok"] is True and body["message"] == "Thanks for your feedback!"
    assert 'id="feedback"' in body["html"] and "Glad it helped" in body["html"]
    bad = client.post("/feedback", {"csrfmiddlewaretoken": token}, headers={"Accept": "application/json"})
    assert bad.status_code == 400 and "Yes" in bad.json()["error"]


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"document": "return-window"}, "Choose “Yes” or “No”"),
        ({"document": "return-window", "helpful": "maybe"}, "Choose “Yes” or “No”"),
        ({"helpful": "yes"}, "Say what the feedback is about"),
        ({"helpful": "yes", "document": "return-window", "response": "1"}, "not both"),
        ({"helpful": "yes", "document": "no-such-article"}, "There is no article “no-such-article”"),
        ({"helpful": "yes", "response": "abc"}, "its link is not valid"),
        ({"helpful": "yes", "response": "999999"}, "its link is not valid"),
        ({"helpful": "yes", "response": answer_token(999999)}, "no longer stored"),
        ({"helpful": "yes", "document": "return-window", "comment": "x" * 2001}, "the limit is 2000"),
    ],
)
def test_bad_feedback_gets_a_400_page_naming_the_problem(document, fields, problem):
    response = Client().post("/feedback", fields)
    assert response.status_code == 400
    assert problem in response.content.decode()
    assert Feedback.objects.count() == 0


def test_nobody_may_rate_an_answer_given_to_someone_else(document):
    owner = User.objects.create_user("ana", password="pw-123456789")
    other = User.objects.create_user("bo", password="pw-123456789")
    answer = _response(owner)
    token = answer_token(answer.pk)
    anonymous = Client().post("/feedback", {"response": token, "helpful": "no"})
    assert anonymous.status_code == 403 and "given to someone else" in anonymous.content.decode()
    client = Client()
    client.force_login(other)
    assert client.post("/feedback", {"response": token, "helpful": "no"}).status_code == 403
    assert client.get(f"/answers/{token}/").status_code == 404
    assert Feedback.objects.count() == 0


def test_whoever_was_given_an_anonymous_answer_may_rate_it(document):
    answer = _response(None)
    assert Client().post("/feedback", {"response": answer_token(answer.pk), "helpful": "no"}).status_code == 302
    assert Feedback.objects.get().response == answer


def test_hidden_articles_cannot_be_rated(document):
    FaqDocument.objects.create(slug="draft", question="Draft", answer="Not yet.", status=FaqDocument.Status.DRAFT)
    response = Client().post("/feedback", {"document": "draft", "helpful": "yes"})
    assert response.status_code == 400
    assert Feedback.objects.count() == 0


def test_the_redirect_never_leaves_the_site(document):
    response = Client().post(
        "/feedback", {"document": "return-window", "helpful": "yes", "next": "https://evil.example/"}
    )
    assert response["Location"] == "/articles/return-window/#feedback"
    for next_url in ("//evil.example/", "/\\evil.example/", "/ok\r\nSet-Cookie: x=1"):
        response = Client().post("/feedback", {"document": "return-window", "helpful": "yes", "next": next_url})
        assert response["Location"] == "/articles/return-window/#feedback"
    response = Client().post("/feedback", {"document": "return-window", "helpful": "yes", "next": "/categories/x/"})
    assert response["Location"] == "/categories/x/#feedback"
