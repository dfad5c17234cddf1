"""A phrasing saved by one process answers the very next question another process serves: search
keeps no per-process note of which phrasings exist (the database's partial index is the only one)."""

from __future__ import annotations

import json
import urllib.request

import pytest

from faq.models import KnownPhrasing
from tests.conftest import daphne_server
from tests.known_phrasings import ODD_QUESTION, help_centre

# transaction=True: the server process reads the rows this test commits.
pytestmark = pytest.mark.django_db(transaction=True)


def _ask(base: str, query: str) -> dict:
    request = urllib.request.Request(
        base + "/api/ai_faq_search",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def test_a_phrasing_saved_here_answers_the_next_question_a_server_process_serves(django_db_blocker):
    documents = help_centre()
    with daphne_server(django_db_blocker) as base:
        # The server has searched (its statement compiled) while no phrasing was approved.
        assert _ask(base, ODD_QUESTION)["answered"] is False
        KnownPhrasing.objects.create(document=documents["where-is-my-order"], text=ODD_QUESTION)
        body = _ask(base, ODD_QUESTION)
    assert body["answered"] is True
    assert body["documents"][0]["slug"] == "where-is-my-order"
