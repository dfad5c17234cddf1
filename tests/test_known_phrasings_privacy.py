"""A customer's pending phrasings go with their history ("clear my history", purge_history);
approved ones keep no link to who asked."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from faq.models import KnownPhrasing, UserResponse
from faq.phrasings import approve
from tests.known_phrasings import answered, customer, help_centre, mark_helpful

pytestmark = pytest.mark.django_db


def test_clearing_my_history_deletes_my_pending_phrasings_but_not_approved_ones():
    order = help_centre()["where-is-my-order"]
    dora = customer("dora")
    mark_helpful(dora, answered(dora, "my parcel has not turned up yet", order))
    mark_helpful(dora, answered(dora, "is the courier lost", order))
    approved, pending = order.phrasings.order_by("pk")
    approve([approved], by=None)
    client = Client()
    client.force_login(dora)
    client.post("/dashboard/clear-history/")
    assert not KnownPhrasing.objects.filter(pk=pending.pk).exists()
    assert KnownPhrasing.objects.filter(pk=approved.pk, asked_by=None, response=None).exists()


def test_purge_history_deletes_pending_phrasings_of_purged_questions(settings):
    order = help_centre()["where-is-my-order"]
    eve = customer("eve")
    mark_helpful(eve, answered(eve, "my parcel has not turned up yet", order))
    UserResponse.objects.update(created_at=timezone.now() - timedelta(days=settings.HISTORY_RETENTION_DAYS + 1))
    call_command("purge_history")
    assert not KnownPhrasing.objects.exists()
