"""The question-history insert skips the fsync (HISTORY_DURABLE_COMMIT=false) for that one
transaction only: every other write on the connection stays fully durable."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from faq.answers import ask
from faq.models import UserResponse
from tests.conftest import add_articles

pytestmark = pytest.mark.django_db(transaction=True)

SET_LOCAL = "SET LOCAL synchronous_commit = off"


def session_synchronous_commit() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return cursor.fetchone()[0]


def test_the_history_row_commits_without_waiting_and_the_setting_does_not_leak(settings):
    settings.HISTORY_DURABLE_COMMIT = False
    add_articles("reset-password")
    assert session_synchronous_commit() == "on"

    with CaptureQueriesContext(connection) as captured:
        answer = ask("I forgot my password")

    statements = [q["sql"] for q in captured.captured_queries]
    assert SET_LOCAL in statements
    insert = next(i for i, sql in enumerate(statements) if sql.startswith('INSERT INTO "user_responses"'))
    assert statements.index(SET_LOCAL) < insert, "the setting precedes the insert, in its transaction"
    assert UserResponse.objects.filter(pk=answer.response_id, query="I forgot my password").exists()
    # SET LOCAL ends with its transaction: the next write on this connection waits for the disk.
    assert session_synchronous_commit() == "on"


def test_durable_history_commits_wait_for_the_disk(settings):
    settings.HISTORY_DURABLE_COMMIT = True
    add_articles("reset-password")

    with CaptureQueriesContext(connection) as captured:
        answer = ask("I forgot my password")

    assert SET_LOCAL not in [q["sql"] for q in captured.captured_queries]
    assert UserResponse.objects.filter(pk=answer.response_id).exists()
