"""The home page's "Popular": what was read or given as an answer most in the last 30 days, then
the articles staff featured (not merely the latest edits); the site's name in header and title."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from faq.models import ArticleView, FaqDocument
from faq.popular import popular_documents
from tests.conftest import add_articles

pytestmark = pytest.mark.django_db


@pytest.fixture
def articles():
    return add_articles("reset-password", "track-order", "refund-timing")


def test_articles_read_most_in_the_last_30_days_are_popular(articles):
    for _ in range(3):
        ArticleView.objects.create(document=articles["refund-timing"])
    old = ArticleView.objects.create(document=articles["track-order"])
    ArticleView.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=40))
    # The least recently edited: only its reads can put it first.
    FaqDocument.objects.filter(slug="refund-timing").update(updated_at=timezone.now() - timedelta(days=1))
    assert popular_documents(None, limit=1)[0].slug == "refund-timing"


def test_on_a_fresh_install_featured_articles_come_before_recent_edits(articles):
    FaqDocument.objects.filter(slug="track-order").update(featured=True)
    FaqDocument.objects.filter(slug="reset-password").update(updated_at=timezone.now() + timedelta(hours=1))
    assert [document.slug for document in popular_documents(None, limit=2)] == ["track-order", "reset-password"]


def test_the_demo_features_articles_across_categories(settings):
    call_command("load_demo", verbosity=0)
    featured = FaqDocument.objects.filter(featured=True).select_related("category")
    assert featured.count() >= 5 and len({document.category.slug for document in featured}) == featured.count()
    popular = Client().get("/").context["popular"]
    assert {document.slug for document in popular} <= {document.slug for document in featured}


def test_the_site_name_is_in_the_header_and_the_title(articles, settings):
    settings.SITE_NAME = "Larkspur Home"
    html = Client().get("/articles/reset-password/").content.decode()
    assert "<title>How do I reset my password? · Larkspur Home</title>" in html
    assert 'class="brand"' in html and "Larkspur Home" in html.split('class="brand"')[1][:200]
    assert 'rel="icon"' in html
