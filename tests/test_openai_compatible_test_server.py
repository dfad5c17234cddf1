from __future__ import annotations

import math

import openai
import pytest

from tests.openai_server import API_KEY


@pytest.fixture
def client(openai_server):
    openai_server.reset()
    return openai.OpenAI(api_key=API_KEY, base_url=openai_server.base_url, max_retries=0, timeout=5)


def test_embeddings_come_back_in_the_requested_dimension_and_unit_length(client):
    result = client.embeddings.create(model="test-embedding", input=["reset my password", "refund"], dimensions=384)
    assert [len(item.embedding) for item in result.data] == [384, 384]
    assert math.isclose(sum(v * v for v in result.data[0].embedding), 1.0, rel_tol=1e-6)


def test_chat_completions_stream_in_several_chunks(client):
    stream = client.chat.completions.create(
        model="test-chat", messages=[{"role": "user", "content": "How do refunds work?"}], stream=True
    )
    pieces = [chunk.choices[0].delta.content for chunk in stream if chunk.choices and chunk.choices[0].delta.content]
    assert len(pieces) > 3
    assert "refunds" in "".join(pieces)


def test_the_server_can_fail_like_a_provider(client, openai_server):
    openai_server.mode = "rate_limit"
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
    openai_server.mode = "error"
    with pytest.raises(openai.InternalServerError):
        client.embeddings.create(model="m", input="hi")


def test_a_wrong_key_is_refused(openai_server):
    bad = openai.OpenAI(api_key="sk-wrong", base_url=openai_server.base_url, max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.embeddings.create(model="m", input="hi")
