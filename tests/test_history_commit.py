"""The question-history insert skips the fsync (HISTORY_DURABLE_COMMIT=false) for that one
transaction only: every other write on the connection stays fully durable. The setting and the
insert are one prepared statement (set_config(..., true) is SET LOCAL within it): one round trip."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from faq.answers import ask
from faq.models import UserResponse
from tests.conftest import add_articles

pytestmark = pytest.mark.django_db(transaction=True)

SET_LOCAL = "set_config('synchronous_commit', 'off', true)"


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
    # One statement: the insert, and the setting for its own (implicit) transaction's commit.
    assert history.startswith("INSERT INTO user_responses") and history.endswith(SET_LOCAL)
    assert not any(sql.startswith(("BEGIN", "SAVEPOINT", "SET")) for sql in statements)
    assert UserResponse.objects.filter(pk=answer.response_id, query="I forgot my password").exists()
    # The setting ends with its transaction: the next write on this connection waits for the disk.
    assert session_synchronous_commit() == "on"


def test_the_setting_is_local_to_the_transaction_the_row_is_written_in(settings):
    settings.HISTORY_DURABLE_COMMIT = False
    add_articles("reset-password")
    with transaction.atomic():
        answer = ask("I forgot my password")
        # What the commit of this transaction will read; the same holds for the statement's own.
        assert session_synchronous_commit() == "off"
    assert session_synchronous_commit() == "on"
    assert UserResponse.objects.filter(pk=answer.response_id).exists()


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
    # The statement's transaction ended with it, not left open and aborted.
    assert connection.connection.info.transaction_status.name == "IDLE"
    assert session_synchronous_commit() == "on"
    assert not UserResponse.objects.exists()
