"""Questions "Answered by article..." turned into known phrasings are answered now: the next
cluster_questions run does not put them back on the content-gap queue, while other gaps stay."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from faq.models import FaqDocument
from insights.answered_by import answer_gaps
from insights.models import GapCluster
from tests.insights_history import ENGRAVING, KLARNA, asked, published_long_ago

pytestmark = pytest.mark.django_db


def _pay_later(**fields) -> FaqDocument:
    document = FaqDocument.objects.create(
        question="Can I pay in instalments?", answer="Yes: choose *Pay later* at checkout.", **fields
    )
    published_long_ago(document, days=60)
    return document


def _ask_klarna() -> None:
    for n, text in enumerate(KLARNA[:3]):
        asked(text, user=User.objects.create_user(f"customer{n}"), days_ago=2)


def test_a_cluster_answered_by_an_article_does_not_reopen_on_the_next_run():
    pay_later = _pay_later()
    _ask_klarna()
    call_command("cluster_questions", verbosity=0)
    answer_gaps(GapCluster.objects.open(), pay_later)
    assert not GapCluster.objects.open().exists()

    call_command("cluster_questions", verbosity=0)
    assert not GapCluster.objects.open().exists()


def test_other_gaps_still_form_clusters_beside_the_answered_ones():
    pay_later = _pay_later()
    _ask_klarna()
    call_command("cluster_questions", verbosity=0)
    answer_gaps(GapCluster.objects.open(), pay_later)
    for n, text in enumerate(ENGRAVING):
        asked(text, user=User.objects.create_user(f"engraver{n}"), days_ago=1)

    call_command("cluster_questions", verbosity=0)
    questions = {
        q for cluster in GapCluster.objects.open() for q in cluster.members.values_list("response__query", flat=True)
    }
    assert questions == set(ENGRAVING)


def test_phrasings_of_a_staff_only_article_leave_its_gaps_open():
    # Staff-only articles never answer customers, so their phrasings answer no customer's gap.
    internal = _pay_later(visibility=FaqDocument.Visibility.STAFF)
    _ask_klarna()
    call_command("cluster_questions", verbosity=0)
    answer_gaps(GapCluster.objects.open(), internal)

    call_command("cluster_questions", verbosity=0)
    assert GapCluster.objects.open().exists()
