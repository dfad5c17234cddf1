"""Text that JSON can carry but PostgreSQL cannot store (a lone surrogate), and JSON nested too deeply
for any parser, get a 4xx (or an error frame) naming the problem: no search, no history row, no
rate-limit count, no 500, no closed socket and no ERROR log line."""

from __future__ import annotations

import logging

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.test import Client

from faq.models import FaqDocument, UserResponse
from supportsite.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)

NESTED = "[" * 3000 + "]" * 3000
SURROGATE_QUERY = b'{"query": "\\ud800 refund"}'
SURROGATE_CATEGORY = b'{"query": "refund", "category": "\\udfff"}'


@pytest.fixture
def article():
    FaqDocument.objects.create(slug="refunds", question="When do I get my refund?", answer="Within 5 days.")


def _post(body: bytes):
    return Client().post("/api/ai_faq_search", body, content_type="application/json")


@pytest.mark.parametrize(("body", "field"), [(SURROGATE_QUERY, "query"), (SURROGATE_CATEGORY, "category")])
def test_a_lone_surrogate_gets_a_422_naming_the_field_before_any_search(article, body, field, settings):
    settings.RATE_LIMITS_ENABLED = True
    settings.RATE_LIMIT_PER_IP = "1/min"
    for _ in range(3):
        response = _post(body)
        assert response.status_code == 422
        assert response.json()["error"].startswith(f"body.{field}: ")
        assert "not valid" in response.json()["error"]
    assert not UserResponse.objects.exists()
    assert _post(b'{"query": "refund"}').status_code == 200, "the refused calls did not count towards the limit"


def test_deeply_nested_json_gets_a_400_from_the_api(article, caplog):
    with caplog.at_level(logging.WARNING):
        response = _post(NESTED.encode())
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["error"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_deeply_nested_json_gets_an_error_frame_and_the_socket_still_answers(article, caplog):
    async def conversation() -> tuple[dict, list[dict]]:
        communicator = WebsocketCommunicator(
            application, "/ws/answer/", headers=[(b"origin", b"http://127.0.0.1:8000"), (b"host", b"127.0.0.1:8000")]
        )
        connected, _ = await communicator.connect(timeout=10)
        assert connected
        await communicator.send_to(text_data=NESTED)
        error = await communicator.receive_json_from(timeout=10)
        await communicator.send_json_to({"query": "when do I get my refund", "category": None})
        frames = [await communicator.receive_json_from(timeout=20)]
        while frames[-1]["type"] not in ("done", "error"):
            frames.append(await communicator.receive_json_from(timeout=20))
        await communicator.disconnect()
        return error, frames

    with caplog.at_level(logging.WARNING):
        error, frames = async_to_sync(conversation)()
    assert error["type"] == "error" and '{"query": "your question"' in error["message"]
    assert frames[-1]["type"] == "done" and frames[-1]["answered"] is True
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
