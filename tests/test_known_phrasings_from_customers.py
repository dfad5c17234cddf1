"""An answered question marked helpful becomes a pending phrasing of the article that answered it.
It approves itself only when LEARN_MIN_CONFIRMATIONS distinct signed-in customers, from distinct
addresses, over LEARN_MIN_SPREAD_HOURS, asked near-identical questions; staff approve the rest."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from faq.feedback import answer_token
from faq.models import KnownPhrasing
from faq.search import search
from tests.known_phrasings import age, answered, customer, help_centre, mark_helpful

pytestmark = pytest.mark.django_db

QUESTION = "my parcel has not turned up yet"


def _pending(document):
    return list(document.phrasings.filter(status=KnownPhrasing.Status.PENDING))


def test_a_helpful_answer_becomes_a_pending_phrasing_that_search_ignores():
    order = help_centre()["where-is-my-order"]
    before = [(h.document.slug, h.similarity) for h in search(QUESTION).hits]
    alice = customer("alice")
    assert mark_helpful(alice, answered(alice, QUESTION, order)) == 302
    (pending,) = _pending(order)
    assert (pending.text, pending.source, pending.asked_by, pending.embedding is not None) == (
        QUESTION,
        KnownPhrasing.Source.CUSTOMER,
        alice,
        True,
    )
    assert [(h.document.slug, h.similarity) for h in search(QUESTION).hits] == before


def test_not_helpful_and_unanswered_questions_teach_nothing():
    order = help_centre()["where-is-my-order"]
    bob = customer("bob")
    Client().force_login(bob)
    client = Client()
    client.force_login(bob)
    client.post("/feedback", {"response": answer_token(answered(bob, QUESTION, order).pk), "helpful": "no"})
    abstained = answered(bob, "something else entirely", order)
    abstained.answered = False
    abstained.save()
    client.post("/feedback", {"response": answer_token(abstained.pk), "helpful": "yes"})
    assert not KnownPhrasing.objects.exists()


def test_three_customers_from_three_addresses_over_a_day_approve_it_and_leave_no_link():
    order = help_centre()["where-is-my-order"]
    for n, (name, wording) in enumerate(
        [("ann", QUESTION), ("ben", "My parcel has not turned up yet!"), ("cat", "my parcel has not turned up yet?")]
    ):
        user = customer(name)
        mark_helpful(user, answered(user, wording, order), address=f"198.51.100.{n + 1}")
        if n == 0:
            age(_pending(order), hours=30)
    (learned,) = order.phrasings.all()
    assert learned.status == KnownPhrasing.Status.APPROVED
    assert (learned.asked_by, learned.response, learned.address_hash, learned.approved_by) == (None, None, "", None)
    assert learned.approved_at is not None
    assert search(learned.text).hits[0].matched_by == "phrasing"


def test_a_flood_from_one_account_approves_nothing():
    order = help_centre()["where-is-my-order"]
    mallory = customer("mallory")
    for n in range(10):
        mark_helpful(mallory, answered(mallory, QUESTION, order), address=f"198.51.100.{n + 1}")
        age(_pending(order), hours=48)
    assert not order.phrasings.filter(status=KnownPhrasing.Status.APPROVED).exists()


def test_many_accounts_from_one_address_approve_nothing():
    order = help_centre()["where-is-my-order"]
    for n in range(5):
        user = customer(f"sock{n}")
        mark_helpful(user, answered(user, QUESTION, order), address="203.0.113.9")
        age(_pending(order), hours=48)
    assert not order.phrasings.filter(status=KnownPhrasing.Status.APPROVED).exists()


def test_a_burst_of_votes_from_distinct_accounts_and_addresses_approves_nothing():
    order = help_centre()["where-is-my-order"]
    for n in range(5):
        user = customer(f"burst{n}")
        mark_helpful(user, answered(user, QUESTION, order), address=f"198.51.100.{n + 1}")
    assert not order.phrasings.filter(status=KnownPhrasing.Status.APPROVED).exists()


def test_anonymous_votes_never_count_towards_approval():
    order = help_centre()["where-is-my-order"]
    for n in range(5):
        mark_helpful(None, answered(None, QUESTION, order), address=f"198.51.100.{n + 1}")
        age(_pending(order), hours=48)
    assert not order.phrasings.filter(status=KnownPhrasing.Status.APPROVED).exists()


def test_staff_approve_and_reject_pending_phrasings_in_bulk_from_the_admin_list():
    order = help_centre()["where-is-my-order"]
    ann, ben = customer("ann"), customer("ben")
    mark_helpful(ann, answered(ann, QUESTION, order))
    mark_helpful(ben, answered(ben, "is the courier lost", order))
    keep, drop = order.phrasings.order_by("pk")
    staff = User.objects.create_superuser("boss", password="pw")
    client = Client()
    client.force_login(staff)
    listing = client.get("/admin/faq/knownphrasing/?status__exact=pending")
    assert QUESTION in listing.content.decode()
    client.post("/admin/faq/knownphrasing/", {"action": "approve_selected", "_selected_action": [keep.pk]})
    client.post("/admin/faq/knownphrasing/", {"action": "reject_selected", "_selected_action": [drop.pk]})
    keep.refresh_from_db()
    drop.refresh_from_db()
    assert (keep.status, keep.approved_by, keep.asked_by, keep.response) == ("approved", staff, None, None)
    assert (drop.status, drop.asked_by) == ("rejected", None)
    # A rejected wording is not proposed again.
    mark_helpful(ben, answered(ben, "is the courier lost", order))
    assert not _pending(order)
