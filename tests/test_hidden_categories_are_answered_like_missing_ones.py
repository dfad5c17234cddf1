"""A category the caller may not read (staff-only or draft-only articles) is answered exactly like
one that does not exist, on the page, in suggestions, in the API and on the websocket: its name and
its existence stay internal."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User
from django.test import Client

from faq.models import Category, FaqDocument, UserResponse
from supportsite.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)

HIDDEN = "fraud-desk"
HIDDEN_NAME = "Fraud Desk Internal Escalations"
DRAFTS = "launch-plans"
MISSING = "no-such-topic"


@pytest.fixture
def categories():
    public = Category.objects.create(name="Orders", slug="orders")
    FaqDocument.objects.create(slug="track-order", question="Where is my order?", answer="Track it.", category=public)
    fraud = Category.objects.create(name=HIDDEN_NAME, slug=HIDDEN)
    FaqDocument.objects.create(
        slug="escalate-fraud",
        question="How do I escalate a fraud case?",
        answer="Call the desk.",
        category=fraud,
        visibility=FaqDocument.Visibility.STAFF,
    )
    plans = Category.objects.create(name="Launch plans", slug=DRAFTS)
    FaqDocument.objects.create(
        slug="next-launch", question="When is the next launch?", answer="Soon.", category=plans, status="draft"
    )


def _anonymised(text: str, category: str) -> str:
    return text.replace(category, "CATEGORY")


def _page(client: Client, category: str) -> tuple[int, str]:
    response = client.get("/search", {"q": "help", "category": category})
    return response.status_code, _anonymised(response.content.decode(), category)


def _suggestions(client: Client, category: str) -> tuple[int, str]:
    response = client.get("/search/suggest", {"q": "help me", "category": category})
    body = response.json()
    body.pop("request_id", None)
    return response.status_code, _anonymised(json.dumps(body), category)


def _api(client: Client, category: str) -> tuple[int, str]:
    response = client.post(
        "/api/ai_faq_search", {"query": "help", "category": category}, content_type="application/json"
    )
    body = response.json()
    body.pop("request_id", None)
    return response.status_code, _anonymised(json.dumps(body, sort_keys=True), category)


def _websocket(category: str) -> str:
    async def ask() -> dict:
        communicator = WebsocketCommunicator(
            application, "/ws/answer/", headers=[(b"origin", b"http://127.0.0.1:8000"), (b"host", b"127.0.0.1:8000")]
        )
        connected, _ = await communicator.connect(timeout=10)
        assert connected
        await communicator.send_json_to({"query": "help", "category": category})
        frame = await communicator.receive_json_from(timeout=20)
        await communicator.disconnect()
        return frame

    return _anonymised(json.dumps(async_to_sync(ask)()), category)


@pytest.mark.parametrize("hidden", [HIDDEN, HIDDEN_NAME, DRAFTS, "Launch plans"])
def test_a_hidden_category_gets_the_same_answer_as_a_missing_one_everywhere(categories, hidden):
    client = Client()
    for ask in (_page, _suggestions, _api):
        assert ask(client, hidden) == ask(client, MISSING), ask.__name__
    assert _websocket(hidden) == _websocket(MISSING)
    page = client.get("/search", {"q": "help", "category": HIDDEN}).content.decode()
    assert HIDDEN_NAME not in page and "Fraud Desk" not in page
    assert not UserResponse.objects.exists()


def test_staff_may_still_search_a_staff_only_category(categories):
    client = Client()
    client.force_login(User.objects.create_user("agent", is_staff=True))
    response = client.get("/search", {"q": "escalate a fraud case", "category": HIDDEN})
    assert response.status_code == 200
    assert "/articles/escalate-fraud/" in response.content.decode()
    body = client.post(
        "/api/ai_faq_search",
        {"query": "escalate a fraud case", "category": HIDDEN_NAME},
        content_type="application/json",
    ).json()
    assert [d["slug"] for d in body["documents"]] == ["escalate-fraud"]


def test_a_draft_only_category_is_unknown_even_to_staff(categories):
    client = Client()
    client.force_login(User.objects.create_user("agent", is_staff=True))
    response = client.post(
        "/api/ai_faq_search", {"query": "launch", "category": "Launch plans"}, content_type="application/json"
    )
    assert response.status_code == 422
    assert "There is no category" in response.json()["error"]
