"""ws/answer/: the search page's answer streamed over a websocket, one history row per question."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User
from django.test import Client

from faq.models import Category, FaqDocument, UserResponse
from supportsite.asgi import application

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio, pytest.mark.usefixtures("async_orm")]

ORIGIN = (b"origin", b"http://127.0.0.1:8000")
# The page's own origin is the Host it was served from, port included.
HOST = (b"host", b"127.0.0.1:8000")
QUESTION = "how many days do I have to send something back?"


@pytest.fixture
def articles():
    returns = Category.objects.create(name="Returns and refunds", slug="returns")
    FaqDocument.objects.create(
        slug="return-window",
        question="How long do I have to return an item?",
        category=returns,
        answer="You have **30 days** from delivery to send most items back.",
    )
    FaqDocument.objects.create(
        slug="member-returns",
        question="Do members get a longer time to return items?",
        category=returns,
        answer="Members have **60 days** to send items back.",
        visibility=FaqDocument.Visibility.SIGNED_IN,
    )


@pytest.fixture
def generation(openai_settings, settings):
    settings.ANSWER_MODE = "openai"
    settings.AI_MAX_RETRIES = 0
    settings.AI_TIMEOUT = 2.0
    return openai_settings


async def _conversation(message, *, headers=(ORIGIN, HOST)) -> list[dict]:
    """Send one message; collect what the server sends until "done" or "error"."""
    communicator = WebsocketCommunicator(application, "/ws/answer/", headers=list(headers))
    connected, _ = await communicator.connect(timeout=10)
    assert connected
    await communicator.send_to(text_data=message if isinstance(message, str) else json.dumps(message))
    received = []
    while not received or received[-1]["type"] not in ("done", "error"):
        received.append(await communicator.receive_json_from(timeout=20))
    await communicator.disconnect()
    return received


def _types(messages: list[dict]) -> list[str]:
    return [m["type"] for m in messages]


async def test_an_extractive_answer_arrives_with_its_documents_and_one_history_row(articles):
    messages = await _conversation({"query": QUESTION, "category": None})
    assert _types(messages) == ["documents", "replace", "done"]
    documents, replace, done = messages
    assert documents["answered"] is True
    assert documents["documents"][0]["url"] == "/articles/return-window/"
    assert documents["documents"][0]["category"] == "Returns and refunds"
    assert "30 days" in replace["text"]
    assert done["answer_mode"] == "extractive" and "<strong>30 days</strong>" in done["html"]
    assert [source["url"] for source in done["sources"]] == ["/articles/return-window/"]
    row = await UserResponse.objects.aget()
    assert row.pk == done["response_id"] and row.answered and row.query == QUESTION


async def test_a_generated_answer_is_streamed_in_pieces_and_stored_once_as_openai(articles, generation):
    messages = await _conversation({"query": QUESTION, "category": None})
    types = _types(messages)
    assert types[0] == "documents" and types[-1] == "done" and types.count("chunk") >= 3
    streamed = "".join(m["text"] for m in messages if m["type"] == "chunk")
    assert streamed.startswith("According to the help centre")
    done = messages[-1]
    assert done["answer_mode"] == "openai" and done["text"] == streamed.strip()
    row = await UserResponse.objects.aget()
    assert row.answer_mode == "openai" and row.response == streamed.strip()


async def test_a_provider_error_falls_back_to_the_extractive_answer(articles, generation):
    generation.mode = "error"
    messages = await _conversation({"query": QUESTION, "category": None})
    assert _types(messages) == ["documents", "replace", "done"]
    assert "30 days" in messages[1]["text"] and messages[-1]["answer_mode"] == "extractive"
    row = await UserResponse.objects.aget()
    assert row.answer_mode == "extractive" and "30 days" in row.response


async def test_a_provider_error_mid_stream_replaces_the_partial_answer(articles, generation, monkeypatch):
    def breaks_midway(query, hits):
        yield "You have "
        yield "thirty"
        raise TimeoutError("the provider stopped answering")

    monkeypatch.setattr("faq.answers.stream", breaks_midway)  # the one pipeline streams
    messages = await _conversation({"query": QUESTION, "category": None})
    assert _types(messages) == ["documents", "chunk", "chunk", "replace", "done"]
    assert "30 days" in messages[3]["text"] and messages[-1]["answer_mode"] == "extractive"
    assert await UserResponse.objects.acount() == 1


async def test_an_off_topic_question_is_declined_and_stored_as_unanswered(articles, generation):
    messages = await _conversation({"query": "What will the weather be in Lisbon tomorrow?", "category": None})
    assert _types(messages) == ["documents", "done"]
    assert messages[0]["answered"] is False and messages[0]["documents"]
    done = messages[-1]
    assert done["answered"] is False and "could not find an answer" in done["text"] and done["contact_url"]
    row = await UserResponse.objects.aget()
    assert row.answered is False
    assert not [r for r in generation.requests if r["path"] == "/v1/chat/completions"]


@pytest.mark.parametrize(
    ("message", "problem"),
    [
        ({"query": "   ", "category": None}, "Type a question"),
        ({"query": "x" * 1001, "category": None}, "Your question is 1001 characters; the limit is 1000"),
        ({"query": "return\x00window", "category": None}, "NUL character"),
        ('{"query": "return \\ud800 window", "category": null}', "not valid text"),
        ({"query": "returns", "category": "no-such-topic"}, "There is no category “no-such-topic”"),
        ({"query": "returns", "category": 7}, "category must be"),
        ({"query": 42}, '{"query": "your question", "category": null}'),
        ("this is not json", '{"query": "your question", "category": null}'),
    ],
)
async def test_bad_questions_get_an_error_message_and_store_nothing(articles, message, problem):
    messages = await _conversation(message)
    assert _types(messages) == ["error"] and problem in messages[0]["message"]
    assert await UserResponse.objects.acount() == 0


async def test_pages_from_other_sites_may_not_connect(articles):
    communicator = WebsocketCommunicator(application, "/ws/answer/", headers=[(b"origin", b"https://evil.example")])
    connected, _ = await communicator.connect(timeout=10)
    assert not connected


async def test_a_signed_in_session_answers_from_signed_in_articles(articles):
    def session_cookie() -> str:
        client = Client()
        client.force_login(User.objects.create_user("member", password="pw-123456789"))
        return client.cookies["sessionid"].value

    cookie = await sync_to_async(session_cookie)()
    question = {"query": "do members get longer to return things", "category": None}
    anonymous = await _conversation(question)
    member = await _conversation(question, headers=(ORIGIN, HOST, (b"cookie", f"sessionid={cookie}".encode())))
    assert "/articles/member-returns/" not in [d["url"] for d in anonymous[0]["documents"]]
    assert member[0]["documents"][0]["url"] == "/articles/member-returns/"
    rows = await sync_to_async(list)(UserResponse.objects.order_by("pk").values_list("user__username", flat=True))
    assert rows == [None, "member"]
