"""The home page (categories, popular articles, search box) and the category pages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from faq.models import ArticleView, Category, FaqDocument, UserResponse
from faq.popular import popular_documents

pytestmark = pytest.mark.django_db


@pytest.fixture
def help_centre():
    accounts = Category.objects.create(
        name="Accounts and sign-in", slug="accounts", description="Passwords and sign-in problems.", order=1
    )
    orders = Category.objects.create(name="Orders and shipping", slug="orders", description="Delivery.", order=2)
    Category.objects.create(name="Empty topic", slug="empty", order=3)
    documents = {
        slug: FaqDocument.objects.create(slug=slug, question=question, category=category, answer=answer)
        for slug, question, category, answer in [
            ("reset-password", "How do I reset my password?", accounts, "Choose **Forgot password?**."),
            ("two-step", "How do I turn on two-step verification?", accounts, "Open *Security* settings."),
            ("track-order", "How can I track my order?", orders, "Open **Your orders**."),
            ("change-address", "Can I change my delivery address?", orders, "Yes, before it ships."),
        ]
    }
    return documents


def _answered(document: FaqDocument, times: int, *, days_ago: int = 0, answered: bool = True) -> None:
    for _ in range(times):
        row = UserResponse.objects.create(
            query=f"about {document.slug}",
            matched=[{"id": document.pk, "similarity": 0.8}],
            answered=answered,
            answer_mode="extractive",
        )
        if days_ago:
            UserResponse.objects.filter(pk=row.pk).update(created_at=timezone.now() - timedelta(days=days_ago))


def test_the_home_page_lists_categories_with_their_article_counts(help_centre):
    response = Client().get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "How can we help?" in html and 'action="/search"' in html and 'name="q"' in html
    assert 'href="/categories/accounts/"' in html and "Passwords and sign-in problems." in html
    assert "2 articles" in html
    # A category without visible articles is not offered.
    assert "Empty topic" not in html


def test_the_home_page_lists_popular_articles(help_centre):
    _answered(help_centre["track-order"], 3)
    _answered(help_centre["two-step"], 1)
    popular = Client().get("/").context["popular"]
    assert [document.slug for document in popular[:2]] == ["track-order", "two-step"]
    assert len(popular) == 4


def test_popular_articles_count_recent_answers_only_and_fill_up_with_recent_updates(help_centre):
    _answered(help_centre["reset-password"], 5, days_ago=40)  # too old
    _answered(help_centre["change-address"], 4, answered=False)  # abstained: not given as an answer
    _answered(help_centre["two-step"], 2)
    FaqDocument.objects.filter(slug="track-order").update(updated_at=timezone.now() + timedelta(minutes=1))
    slugs = [document.slug for document in popular_documents(None, days=30, limit=2)]
    assert slugs == ["two-step", "track-order"]


def test_popular_articles_never_include_hidden_ones(help_centre):
    hidden = help_centre["track-order"]
    hidden.status = FaqDocument.Status.DRAFT
    hidden.save()
    _answered(hidden, 10)
    assert "track-order" not in [document.slug for document in popular_documents(None, limit=5)]


def test_popular_articles_take_three_queries(help_centre, django_assert_num_queries):
    _answered(help_centre["two-step"], 2)
    with django_assert_num_queries(3):
        popular_documents(None)


def test_a_category_page_lists_its_visible_articles(help_centre):
    response = Client().get("/categories/accounts/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Accounts and sign-in</h1>" in html
    assert 'href="/articles/reset-password/"' in html and 'href="/articles/two-step/"' in html
    assert "track-order" not in html
    # The search box there searches within the category.
    assert '<input type="hidden" name="category" value="accounts">' in html


def test_unknown_and_empty_categories_are_404_pages(help_centre):
    for path in ("/categories/no-such-topic/", "/categories/empty/"):
        response = Client().get(path)
        assert response.status_code == 404
        assert "find that page" in response.content.decode()


def test_an_article_page_shows_the_rendered_answer_category_date_and_feedback_form(help_centre):
    response = Client().get("/articles/reset-password/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>How do I reset my password?</h1>" in html
    assert "<strong>Forgot password?</strong>" in html
    assert 'href="/categories/accounts/"' in html
    assert "<time datetime=" in html
    assert "Was this article helpful?" in html and 'name="document" value="reset-password"' in html
    related = [document.slug for document in response.context["related"]]
    assert len(related) == 3 and "reset-password" not in related


def test_an_unknown_article_is_a_404_page(help_centre):
    response = Client().get("/articles/no-such-article/")
    assert response.status_code == 404
    assert "/articles/no-such-article/" in response.content.decode()
    for odd in ("/articles/a%00b/", "/categories/a%00b/", "/articles/%C3%A9t%C3%A9/"):
        assert Client().get(odd).status_code == 404


def test_article_markdown_cannot_inject_script(help_centre):
    FaqDocument.objects.create(
        slug="xss",
        question="<b>Bold</b> question",
        answer='<script>window.__xss=1</script><img src=x onerror="window.__xss=2"> [x](javascript:alert(1))',
    )
    html = Client().get("/articles/xss/").content.decode()
    assert "<script>window" not in html and "<img" not in html and 'href="javascript:' not in html
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in html  # shown as text
    assert "&lt;b&gt;Bold&lt;/b&gt; question" in html


def test_opening_an_article_is_kept_in_the_readers_history(help_centre):
    ann = User.objects.create_user("ann")
    client = Client()
    client.force_login(ann)
    client.get("/articles/two-step/")
    Client().get("/articles/reset-password/")
    Client().head("/articles/track-order/")  # link checkers are not readers
    views = {(view.document.slug, view.user) for view in ArticleView.objects.all()}
    assert views == {("two-step", ann), ("reset-password", None)}


def test_a_signed_in_customer_with_a_history_sees_picks_with_their_reasons_on_the_home_page(help_centre):
    from faq.answers import ask

    ann = User.objects.create_user("ann")
    client = Client()
    client.force_login(ann)
    assert "Picked for you" not in client.get("/").content.decode(), "no history yet: the popular list is enough"

    ask("I forgot my password", user=ann)
    page = client.get("/").content.decode()
    assert "Picked for you" in page
    assert "Because you asked \u201cI forgot my password\u201d" in page
    assert 'href="/dashboard/"' in page
    assert "Picked for you" not in Client().get("/").content.decode(), "anonymous readers get no picks"
