"""Article health in admin: per article views, times given as the answer, helpful ratio, and the
published articles not given as an answer in 90 days."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse
from django.utils import timezone

from faq.models import FaqDocument
from tests.insights_history import asked, feedback_on, viewed

pytestmark = pytest.mark.django_db

PAGE = reverse("admin:insights_articlehealth_changelist")


def ago(days: float):
    return timezone.now() - timedelta(days=days)


@pytest.fixture
def articles() -> dict[str, FaqDocument]:
    docs = {
        slug: FaqDocument.objects.create(slug=slug, question=question, answer="An answer.", status=status)
        for slug, question, status in [
            ("popular", "How do I track my order?", "published"),
            ("stale", "Can I pay by cheque?", "published"),
            ("unserved", "Do you sell gift wrap?", "published"),
            ("draft", "How do I book a fitting?", "draft"),
        ]
    }
    popular, stale = docs["popular"], docs["stale"]
    for days in (1, 2, 3):
        asked("where is my parcel", answered=True, similarity=0.7, document=popular, days_ago=days)
    asked("tracking number", answered=True, similarity=0.6, document=popular, days_ago=40, not_helpful=True)
    asked("track order old", answered=True, similarity=0.6, document=popular, days_ago=200)
    # An abstention whose closest article was `popular`: not an answer it gave.
    asked("where is my sofa", answered=False, similarity=0.4, document=popular, days_ago=1)
    asked("cheque payment", answered=True, similarity=0.6, document=stale, days_ago=100)
    for days in (1, 2, 3, 4):
        viewed(popular, at=ago(days))
    viewed(popular, at=ago(120))
    viewed(stale, at=ago(2))
    feedback_on(popular, helpful=True, at=ago(5))
    feedback_on(popular, helpful=True, at=ago(6))
    feedback_on(popular, helpful=False, at=ago(50))
    feedback_on(popular, helpful=False, at=ago(300))  # outside every period
    return docs


def rows(admin_client, **params) -> dict[str, FaqDocument]:
    response = admin_client.get(PAGE, params)
    assert response.status_code == 200
    return {doc.slug: doc for doc in response.context["cl"].result_list}


def test_each_article_shows_views_answers_feedback_and_when_it_was_last_served(admin_client, articles):
    listed = rows(admin_client)

    assert list(listed) == ["popular", "stale", "unserved", "draft"]  # most served first, then by title
    popular = listed["popular"]
    # Last 90 days (the default): 4 views, 4 answers, helpful 2 (article) vs 1 (article) + 1 (an answer it gave).
    assert (popular.views_count, popular.served_count) == (4, 4)
    assert (popular.helpful_count, popular.not_helpful_count, popular.helpful_ratio) == (2, 2, 0.5)
    assert popular.last_served.date() == ago(1).date()
    stale = listed["stale"]
    assert (stale.views_count, stale.served_count, stale.helpful_ratio) == (1, 0, None)
    assert stale.last_served.date() == ago(100).date()
    assert listed["unserved"].last_served is None
    page = admin_client.get(PAGE).content.decode()
    assert "<h1>Article health</h1>" in page
    assert "50%" in page and "never" in page


def test_the_counting_period_can_be_chosen(admin_client, articles):
    week = rows(admin_client, days="7")["popular"]
    assert (week.views_count, week.served_count, week.helpful_count, week.not_helpful_count) == (4, 3, 2, 0)
    year = rows(admin_client, days="365")["popular"]
    assert (year.views_count, year.served_count, year.helpful_count, year.not_helpful_count) == (5, 5, 2, 3)
    # Anything else counts over the default 90 days rather than failing.
    assert rows(admin_client, days="forever")["popular"].served_count == 4


def test_published_articles_not_served_in_90_days_are_listed_and_counted(admin_client, articles):
    assert set(rows(admin_client, served="no")) == {"stale", "unserved"}
    assert set(rows(admin_client, served="yes")) == {"popular"}
    page = admin_client.get(PAGE).content.decode()
    assert "2 published articles</a>\n  were not given as an answer in the last 90 days." in page


def test_the_stale_period_follows_its_setting(admin_client, articles, settings):
    settings.INSIGHTS_STALE_DAYS = 365
    assert set(rows(admin_client, served="no")) == {"unserved"}


def test_every_column_sorts_without_error(admin_client, articles):
    for column in range(8):  # admin's "o" parameter counts columns from 0
        for order in (str(column), f"-{column}"):
            assert admin_client.get(PAGE, {"o": order}).status_code == 200
    by_ratio = list(rows(admin_client, o="-6"))  # helpful ratio: "popular" is the only one with feedback
    assert by_ratio.index("popular") == 0
    assert list(rows(admin_client, o="6")).index("popular") == 3


def test_only_staff_with_the_view_permission_see_article_health(client, articles):
    client.force_login(User.objects.create_user("customer"))
    assert client.get(PAGE)["Location"].startswith("/admin/login/")
    agent = User.objects.create_user("agent", is_staff=True)
    client.force_login(agent)
    assert client.get(PAGE).status_code == 403
    agent.user_permissions.add(Permission.objects.get(codename="view_articlehealth"))
    client.force_login(User.objects.get(pk=agent.pk))
    assert client.get(PAGE).status_code == 200
