"""`cluster_questions` groups the questions the help centre did not answer well into the
content-gap queue: which questions count, how they group and rank, idempotent re-runs, and a
cluster leaving the queue once a newer article answers it."""

from __future__ import annotations

import threading
from io import StringIO

import numpy as np
import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db import connections
from django.utils import timezone

from faq.models import FaqDocument, UserResponse
from insights.clustering import Assigner, LeaderClustering
from insights.gaps import gap_questions, resolve_recently_changed_articles
from insights.models import ClusterRun, GapCluster, GapClusterMember
from tests.insights_history import ENGRAVING, ISLANDS, KLARNA, asked, published_long_ago

pytestmark = pytest.mark.django_db

KLARNA_ANSWER = (
    "Yes. Choose **Klarna** at checkout to pay later with Klarna, or pay with Klarna in three interest-free "
    "instalments. Klarna payment is possible on every order."
)


def run(**options) -> str:
    out = StringIO()
    call_command("cluster_questions", stdout=out, **options)
    return out.getvalue()


def queue() -> list[GapCluster]:
    return list(GapCluster.objects.open())


def cluster_of(text: str) -> GapCluster:
    return GapCluster.objects.filter(members__response__query=text).distinct().get()


@pytest.fixture
def customers() -> list[User]:
    return [User.objects.create_user(f"customer{n}") for n in range(4)]


@pytest.fixture
def gaps(customers) -> None:
    """Klarna: 4 customers (one asked twice) + 1 anonymous; islands: 1 customer, twice; engraving: anonymous."""
    ann, bob, cat, dan = customers
    asked(KLARNA[0], user=ann, days_ago=5)
    asked(KLARNA[1], user=ann, days_ago=4)
    asked(KLARNA[2], user=bob, answered=True, similarity=0.47, days_ago=3)  # low confidence
    asked(KLARNA[3], user=cat, answered=True, similarity=0.71, not_helpful=True, days_ago=2)
    asked(KLARNA[0], user=dan, days_ago=2)
    asked(KLARNA[1], days_ago=1)
    asked(ISLANDS[0], user=bob, days_ago=6)
    asked(ISLANDS[1], user=bob, days_ago=1)
    asked(ISLANDS[2], user=bob, days_ago=1)
    asked(ENGRAVING[0], days_ago=3)


def test_abstained_low_confidence_and_not_helpful_questions_are_gaps_and_nothing_else_is():
    now = timezone.now()
    rows = {
        "abstained": asked("do you sell garden sheds"),
        "low": asked("garden shed sizes", answered=True, similarity=0.47),
        "not helpful": asked("sheds in stock?", answered=True, similarity=0.8, not_helpful=True),
        "confident": asked("shed delivery time", answered=True, similarity=0.8),
        "confident, rated helpful": asked("shed colours", answered=True, similarity=0.49 + 0.2, helpful=True),
        "degraded": asked("garden sheds", mode=UserResponse.Mode.KEYWORD),
        "too old": asked("do you sell garden sheds", days_ago=120),
    }
    found = dict(gap_questions(since=now - timezone.timedelta(days=90), until=now).values_list("pk", "reason"))
    assert found == {
        rows["abstained"].pk: "abstained",
        rows["low"].pk: "low_confidence",
        rows["not helpful"].pk: "not_helpful",
    }


def test_the_low_confidence_band_follows_its_setting(settings):
    row = asked("garden shed sizes", answered=True, similarity=0.52)
    now = timezone.now()
    window = {"since": now - timezone.timedelta(days=90), "until": now}
    assert not gap_questions(**window).filter(pk=row.pk).exists()  # 0.45 + 0.05 default
    settings.INSIGHTS_LOW_CONFIDENCE_MARGIN = 0.1
    assert gap_questions(**window).filter(pk=row.pk).exists()


def test_similar_questions_form_clusters_ranked_by_how_many_customers_asked(gaps):
    output = run()

    assert "clustered 10 question(s) of the last 90 days into 3 cluster(s): 3 in the queue" in output
    klarna, islands, engraving = queue()
    assert {m.response.query for m in klarna.members.select_related("response")} == set(KLARNA)
    # Ann asked twice (one customer); the anonymous question counts as one more.
    assert (klarna.questions, klarna.customers) == (6, 5)
    assert (klarna.abstained, klarna.low_confidence, klarna.not_helpful) == (4, 1, 1)
    assert (islands.questions, islands.customers) == (3, 1)
    assert (engraving.questions, engraving.customers) == (1, 1)
    assert klarna.first_asked < klarna.last_asked
    assert GapClusterMember.objects.count() == 10


def test_running_the_command_again_replaces_the_queue_with_the_same_clusters(gaps):
    run()
    first = list(GapCluster.objects.values_list("pk", "questions", "customers", "last_asked"))
    members = set(GapClusterMember.objects.values_list("cluster_id", "response_id"))

    output = run()

    assert list(GapCluster.objects.values_list("pk", "questions", "customers", "last_asked")) == first
    assert set(GapClusterMember.objects.values_list("cluster_id", "response_id")) == members
    assert GapClusterMember.objects.count() == 10  # replaced, not added to
    assert ClusterRun.objects.count() == 2
    assert "into 3 cluster(s)" in output


def test_a_new_question_joins_its_cluster_on_the_next_run(gaps):
    run()
    asked("is klarna accepted", days_ago=0.5)
    run()
    assert cluster_of(KLARNA[0]).questions == 7
    assert GapCluster.objects.count() == 3


def test_the_window_limits_the_questions_read(gaps):
    assert "clustered 3 question(s) of the last 2 days into 2 cluster(s)" in run(days=2)
    two_days_ago = timezone.now() - timezone.timedelta(days=2)
    assert not GapClusterMember.objects.filter(response__created_at__lt=two_days_ago).exists()


@pytest.mark.parametrize("days", [0, -3, 4000])
def test_a_bad_window_is_refused_with_a_message(days):
    with pytest.raises(CommandError, match="--days must be between 1 and 3650"):
        run(days=days)


def test_a_published_article_that_answers_a_cluster_takes_it_out_of_the_queue(gaps):
    run()
    article = FaqDocument.objects.create(question="Can I pay with Klarna?", answer=KLARNA_ANSWER)

    klarna = cluster_of(KLARNA[0])
    assert klarna.answered_by == article
    assert klarna not in queue()
    assert len(queue()) == 2  # the other gaps stay


def test_a_draft_does_not_close_a_cluster_until_it_is_published_even_in_bulk(gaps):
    run()
    draft = FaqDocument.objects.create(
        question="Can I pay with Klarna?", answer=KLARNA_ANSWER, status=FaqDocument.Status.DRAFT
    )
    assert len(queue()) == 3
    # Admin's bulk "publish" is an UPDATE: no save signal. The queue page's check catches it.
    FaqDocument.objects.filter(pk=draft.pk).update(status=FaqDocument.Status.PUBLISHED, updated_at=timezone.now())
    assert len(queue()) == 3
    assert resolve_recently_changed_articles() == 1
    assert cluster_of(KLARNA[0]).answered_by_id == draft.pk


def test_an_article_published_before_the_questions_were_asked_does_not_close_their_cluster(gaps):
    article = FaqDocument.objects.create(question="Can I pay with Klarna?", answer=KLARNA_ANSWER)
    published_long_ago(article, days=30)  # the questions (1-5 days old) were asked after it, and still missed

    run()

    assert cluster_of(KLARNA[0]).answered_by is None
    assert len(queue()) == 3


def test_the_command_leaves_out_clusters_a_newer_article_already_answers(gaps):
    FaqDocument.objects.create(question="Can I pay with Klarna?", answer=KLARNA_ANSWER)  # newer than every question

    output = run()

    assert "3 cluster(s): 2 in the queue, 1 already answered by a newer article" in output
    assert cluster_of(KLARNA[0]).answered_by.question == "Can I pay with Klarna?"


def test_staff_only_articles_do_not_answer_customers_questions(gaps):
    run()
    FaqDocument.objects.create(
        question="Can I pay with Klarna?", answer=KLARNA_ANSWER, visibility=FaqDocument.Visibility.STAFF
    )
    assert cluster_of(KLARNA[0]).answered_by is None


def test_no_history_gives_an_empty_queue():
    assert "clustered 0 question(s) of the last 90 days into 0 cluster(s)" in run()
    assert GapCluster.objects.count() == 0


def _groups(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    centres = np.eye(8, dtype=np.float32)[:3]
    labels = rng.integers(0, 3, size=n)
    vectors = centres[labels] + rng.normal(0, 0.05, size=(n, 8)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True), labels


@pytest.mark.parametrize("chunk", [1, 7, 1000])
def test_leader_clustering_finds_the_groups_whatever_the_chunk_size(chunk):
    vectors, labels = _groups(300, np.random.default_rng(4))
    leaders = LeaderClustering(threshold=0.8, dimensions=8)
    for start in range(0, len(vectors), chunk):
        leaders.add(vectors[start : start + chunk], np.arange(start, min(start + chunk, len(vectors))))
    assignment = Assigner(leaders.centres()).assign(vectors)

    assert len(leaders) == 3
    # Each true group is exactly one cluster.
    assert {(int(a), int(b)) for a, b in zip(labels, assignment.labels, strict=True)} == {
        (int(label), int(assignment.labels[np.flatnonzero(labels == label)[0]])) for label in range(3)
    }
    assert leaders.leaders == sorted(leaders.leaders)  # each cluster keyed by its first vector
    assert float(assignment.similarities.min()) > 0.8


def test_leader_clustering_keeps_dissimilar_vectors_apart():
    vectors = np.eye(5, dtype=np.float32)
    leaders = LeaderClustering(threshold=0.5, dimensions=5)
    leaders.add(vectors, np.arange(5))
    assert len(leaders) == 5


def test_overlapping_runs_both_succeed_and_leave_one_queue(transactional_db):
    for text in KLARNA:
        asked(text)
    asked(ISLANDS[0])
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def rebuild() -> None:
        try:
            barrier.wait()
            run()
        except BaseException as exc:  # reported below: a thread's exception would vanish
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=rebuild) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert GapCluster.objects.count() == 2
    assert GapClusterMember.objects.count() == 5
