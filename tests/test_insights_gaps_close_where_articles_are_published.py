"""A content gap leaves the queue when its article is published, whichever way: one save, admin's
bulk publish, or an import. Showing the queue only reads."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from faq.models import FaqDocument
from insights.models import ClusterRun, GapCluster
from tests.insights_history import KLARNA
from tests.test_insights_gap_queue_admin import QUEUE, queue  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db

KLARNA_ANSWER = "Yes: choose Klarna at checkout to pay later with Klarna in three instalments."
WRITES = ("INSERT", "UPDATE", "DELETE")


def test_showing_the_queue_writes_nothing_even_after_a_publish_it_was_not_told_of(admin_client, queue):  # noqa: F811
    draft = FaqDocument.objects.create(question="Can I pay with Klarna?", answer=KLARNA_ANSWER, status="draft")
    # An UPDATE by some other path (a script, the shell): nobody sent articles_published.
    FaqDocument.objects.filter(pk=draft.pk).update(status=FaqDocument.Status.PUBLISHED, updated_at=timezone.now())
    checked_at = ClusterRun.objects.get().articles_checked_at

    with CaptureQueriesContext(connection) as queries:
        page = admin_client.get(QUEUE)

    assert page.status_code == 200
    # Sessions may be touched by the test client's sign-in; the queue itself must not write.
    writes = [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().upper().startswith(WRITES)]
    assert not [sql for sql in writes if "django_session" not in sql], writes
    assert ClusterRun.objects.get().articles_checked_at == checked_at
    assert queue["klarna"] in list(page.context["cl"].result_list), "the next cluster_questions run closes it"
    call_command("cluster_questions", verbosity=0)
    assert GapCluster.objects.filter(members__response__query=KLARNA[0]).get().answered_by_id == draft.pk


def test_importing_an_answering_article_closes_its_gap_at_once(queue, tmp_path):  # noqa: F811
    articles = tmp_path / "klarna.jsonl"
    articles.write_text(
        json.dumps({"id": "pay-with-klarna", "question": "Can I pay with Klarna?", "answer": KLARNA_ANSWER})
    )

    call_command("import_faqs", str(articles), verbosity=0)

    queue["klarna"].refresh_from_db()
    assert queue["klarna"].answered_by.slug == "pay-with-klarna"
    queue["islands"].refresh_from_db()
    assert queue["islands"].answered_by is None
