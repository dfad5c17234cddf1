"""The question-history insert skips the fsync (HISTORY_DURABLE_COMMIT=false) for that one
transaction only: every other write on the connection stays fully durable. The transaction, its
setting and the insert go to the database as one statement string: one round trip, not four."""

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
    (history,) = [sql for sql in statements if "INSERT INTO user_responses" in sql]
    # The setting precedes the insert, inside the transaction the same string opens and commits.
    assert history.startswith(f"BEGIN; {SET_LOCAL}; INSERT INTO user_responses")
    assert history.endswith("; COMMIT")
    assert not any(sql.startswith(("BEGIN", "SAVEPOINT", SET_LOCAL)) for sql in statements if sql != history)
    assert UserResponse.objects.filter(pk=answer.response_id, query="I forgot my password").exists()
    # SET LOCAL ends with its transaction: the next write on this connection waits for the disk.
    assert session_synchronous_commit() == "on"


def test_durable_history_commits_wait_for_the_disk(settings):
    settings.HISTORY_DURABLE_COMMIT = True
    add_articles("reset-password")

    with CaptureQueriesContext(connection) as captured:
        answer = ask("I forgot my password")

    statements = [q["sql"] for q in captured.captured_queries]
    assert not any(SET_LOCAL in sql for sql in statements)
    (history,) = [sql for sql in statements if "INSERT INTO user_responses" in sql]
    assert history.startswith("INSERT INTO user_responses")  # autocommit: one statement, durable
    assert UserResponse.objects.filter(pk=answer.response_id).exists()


def test_a_failed_history_insert_leaves_the_connection_usable(settings):
    from django.db import DataError

    from faq.answers import Answer, record_answer
    from faq.search import SearchResult

    settings.HISTORY_DURABLE_COMMIT = False
    result = SearchResult("a question", [], answered=False)
    too_long = Answer("No answer.", False, UserResponse.Mode.EXTRACTIVE, result, "x" * 65)  # request_id: 64 at most
    with pytest.raises(DataError):
        record_answer(too_long, user=None, started=0.0)
    # The string's transaction was rolled back, not left open and aborted.
    assert connection.connection.info.transaction_status.name == "IDLE"
    assert session_synchronous_commit() == "on"
    assert not UserResponse.objects.exists()
