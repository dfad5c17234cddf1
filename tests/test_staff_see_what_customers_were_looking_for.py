"""A "No" with a comment ("what were you looking for?") reaches staff: beside the article in
article health, and on the content gap its answer belongs to (issue 19 point 2)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from faq.feedback import answer_token
from faq.models import FaqDocument
from insights.models import GapCluster
from tests.insights_history import KLARNA, asked

pytestmark = pytest.mark.django_db


def test_article_health_shows_the_latest_comment_left_with_a_no(admin_client):
    FaqDocument.objects.create(
        slug="return-window", question="How long do I have to return an item?", answer="30 days."
    )
    Client().post("/feedback", {"document": "return-window", "helpful": "no", "comment": "Returns from Norway"})
    page = admin_client.get(reverse("admin:insights_articlehealth_changelist")).content.decode()
    assert "Returns from Norway" in page


def test_the_content_gap_shows_what_its_askers_were_looking_for(admin_client):
    customers = [User.objects.create_user(f"customer{n}") for n in range(3)]
    responses = [asked(text, user=user, days_ago=2) for user, text in zip(customers, KLARNA, strict=False)]
    call_command("cluster_questions", verbosity=0)
    asker = Client()
    asker.force_login(customers[0])
    fields = {"response": answer_token(responses[0].pk), "helpful": "no", "comment": "Klarna in 3 instalments"}
    assert asker.post("/feedback", fields).status_code == 302
    cluster = GapCluster.objects.filter(members__response=responses[0]).get()
    page = admin_client.get(reverse("admin:insights_gapcluster_change", args=[cluster.pk])).content.decode()
    assert "What customers were looking for" in page and "Klarna in 3 instalments" in page
