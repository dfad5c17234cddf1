"""A repeated anonymous question reuses its search result (faq/result_cache.py) only while the
catalogue version PostgreSQL keeps is unchanged: every committed change, by any path or process,
is reflected by the next question; who may see what is never cached."""

from __future__ import annotations

import pytest
import requests
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from faq.answers import ask
from faq.models import FaqDocument, KnownPhrasing, UserResponse
from tests.conftest import add_articles

pytestmark = pytest.mark.django_db(transaction=True)

QUESTION = "I forgot my password"


@pytest.fixture
def articles():
    return add_articles("reset-password", "track-order", "refund-timing")


def _statements(user=None, question: str = QUESTION) -> tuple[list[str], object]:
    with CaptureQueriesContext(connection) as queries:
        answer = ask(question, user=user)
    return [q["sql"] for q in queries.captured_queries], answer


def _searches(statements: list[str]) -> int:
    return sum("<=>" in sql for sql in statements)


def test_the_same_question_again_is_one_statement_its_history_row_checking_the_version(articles):
    first, answer = _statements()
    again, repeated = _statements()
    assert _searches(first) >= 1
    assert _searches(again) == 0
    # One round trip: the history row is written only if the catalogue is at the kept version.
    assert len(again) == 1, again
    assert "INSERT INTO user_responses" in again[0] and "faq_catalogue_version" in again[0]
    assert repeated.text == answer.text and repeated.answered
    assert repeated.response_id is not None and repeated.response_id != answer.response_id
    assert UserResponse.objects.filter(query=QUESTION).count() == 2


def test_after_a_change_the_kept_result_writes_nothing_and_the_question_is_answered_anew(articles):
    assert "Forgot password?" in ask(QUESTION).text
    new = "Use the reset link on the sign-in page; it works for 24 hours."
    FaqDocument.objects.filter(pk=articles["reset-password"].pk).update(answer=new)
    statements, answer = _statements()
    assert answer.text == new
    assert _searches(statements) == 1
    rows = UserResponse.objects.filter(query=QUESTION).order_by("pk")
    assert [row.response for row in rows][-1] == new and rows.count() == 2  # one row per question
    assert rows.last().pk == answer.response_id


def test_a_new_question_reads_the_version_inside_its_search_statement(articles):
    first, answer = _statements()
    assert [sql for sql in first if "faq_catalogue_version" in sql and "<=>" not in sql] == []
    assert any("faq_catalogue_version" in sql and "<=>" in sql for sql in first)
    with connection.cursor() as cursor:
        cursor.execute("SELECT version FROM faq_catalogue_version")
        assert answer.search.catalogue_version == cursor.fetchone()[0]


@pytest.mark.parametrize("how", ["save", "queryset update", "raw SQL"])
def test_a_changed_answer_is_what_the_next_question_gets(articles, how):
    assert "Forgot password?" in ask(QUESTION).text
    new = "Use the reset link on the sign-in page; it works for 24 hours."
    article = articles["reset-password"]
    if how == "save":
        article.answer = new
        article.save()
    elif how == "queryset update":
        FaqDocument.objects.filter(pk=article.pk).update(answer=new)
    else:
        with connection.cursor() as cursor:
            cursor.execute("UPDATE faq_documents SET answer = %s WHERE id = %s", [new, article.pk])
    assert ask(QUESTION).text == new


def test_an_unpublished_article_stops_answering_at_once(articles):
    assert ask(QUESTION).search.hits[0].document.slug == "reset-password"
    FaqDocument.objects.filter(slug="reset-password").update(status=FaqDocument.Status.DRAFT)
    assert "reset-password" not in {hit.document.slug for hit in ask(QUESTION).search.hits}


def test_an_approved_phrasing_is_searched_at_once(articles):
    question = "my parcel never came"
    before = ask(question).search
    KnownPhrasing.objects.create(document=articles["track-order"], text=question, status=KnownPhrasing.Status.APPROVED)
    after = ask(question).search
    assert after.hits[0].document.slug == "track-order"
    assert after.hits[0].similarity > before.hits[0].similarity or before.hits[0].document.slug != "track-order"


def test_what_staff_may_see_is_never_cached_for_anyone(articles):
    FaqDocument.objects.create(
        slug="agent-reset",
        question="How do I reset a customer's password?",
        answer="Staff only.",
        visibility=FaqDocument.Visibility.STAFF,
        category=articles["reset-password"].category,
    )
    staff = User.objects.create_user("agent", password="x", is_staff=True)
    anonymous = {hit.document.slug for hit in ask("reset a customer's password").search.hits}
    as_staff = {hit.document.slug for hit in ask("reset a customer's password", user=staff).search.hits}
    again = {hit.document.slug for hit in ask("reset a customer's password").search.hits}
    assert "agent-reset" in as_staff
    assert "agent-reset" not in anonymous and "agent-reset" not in again


def test_inside_a_transaction_the_cache_is_not_used(articles):
    ask(QUESTION)
    with transaction.atomic():
        statements, _ = _statements()
    assert _searches(statements) >= 1


def test_a_change_made_by_another_process_is_reflected_by_the_next_question(articles, live_server_url):
    url = live_server_url + "/api/ai_faq_search"
    first = requests.post(url, json={"query": QUESTION}, timeout=60).json()
    assert requests.post(url, json={"query": QUESTION}, timeout=60).json()["response"] == first["response"]
    FaqDocument.objects.filter(slug="reset-password").update(answer="Ask us on chat to reset it.")
    assert requests.post(url, json={"query": QUESTION}, timeout=60).json()["response"] == "Ask us on chat to reset it."
