"""The content-gap queue's "Answered by article..." action: the cluster's questions become known
phrasings of the chosen article (so search now answers them) and the cluster leaves the queue."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.urls import reverse

from faq.models import FaqDocument, KnownPhrasing
from faq.search import search
from insights.models import GapCluster
from tests.insights_history import KLARNA, asked, published_long_ago

pytestmark = pytest.mark.django_db

QUEUE = reverse("admin:insights_gapcluster_changelist")


def test_answered_by_article_turns_the_clusters_questions_into_phrasings_and_closes_it(admin_client):
    pay_later = FaqDocument.objects.create(
        question="Can I pay in instalments?", answer="Yes: choose *Pay later* at checkout."
    )
    published_long_ago(pay_later, days=60)
    for n, text in enumerate(KLARNA[:3]):
        asked(text, user=User.objects.create_user(f"customer{n}"), days_ago=2)
    call_command("cluster_questions", verbosity=0)
    cluster = GapCluster.objects.open().get()
    questions = sorted(cluster.members.values_list("response__query", flat=True))

    chooser = admin_client.post(QUEUE, {"action": "answered_by_article", "_selected_action": [cluster.pk]})
    assert "Which article answers these questions?" in chooser.content.decode()
    done = admin_client.post(
        QUEUE,
        {"action": "answered_by_article", "_selected_action": [cluster.pk], "apply": "1", "document": pay_later.pk},
        follow=True,
    )
    assert "are now its known phrasings" in done.content.decode()
    assert not GapCluster.objects.open().exists()
    learned = KnownPhrasing.objects.filter(document=pay_later)
    assert sorted(learned.values_list("text", flat=True)) == questions
    assert set(learned.values_list("source", "status")) == {("gap_queue", "approved")}
    result = search(questions[0])
    assert result.answered and result.hits[0].document == pay_later


def test_publishing_the_draft_made_from_a_cluster_turns_its_questions_into_phrasings(admin_client):
    for n, text in enumerate(KLARNA[:3]):
        asked(text, user=User.objects.create_user(f"customer{n}"), days_ago=2)
    call_command("cluster_questions", verbosity=0)
    cluster = GapCluster.objects.open().get()
    questions = sorted(cluster.members.values_list("response__query", flat=True))
    article = FaqDocument.objects.create(
        question="Can I pay with Klarna?", answer="Yes: choose Klarna at checkout to pay later in instalments."
    )
    assert not GapCluster.objects.open().exists()
    assert sorted(KnownPhrasing.objects.filter(document=article).values_list("text", flat=True)) == questions
