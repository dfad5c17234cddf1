"""Drafts and restricted articles never leak: search, suggestions, articles, related articles,
categories, the home page and the sitemap all show each reader only what they may read."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from faq.models import Category, FaqDocument

pytestmark = pytest.mark.django_db(transaction=True)

PUBLIC, DRAFT, SIGNED_IN, STAFF = "reset-password", "reset-password-new-app", "change-password", "staff-reset"
ALL = {PUBLIC, DRAFT, SIGNED_IN, STAFF}


@pytest.fixture
def articles():
    accounts = Category.objects.create(name="Accounts and sign-in", slug="accounts")
    internal = Category.objects.create(name="Internal procedures", slug="internal")
    FaqDocument.objects.create(
        slug=PUBLIC,
        question="How do I reset my password?",
        category=accounts,
        answer="Choose **Forgot password?** on the sign-in page and follow the emailed link.",
    )
    FaqDocument.objects.create(
        slug=DRAFT,
        question="How do I reset my password in the new app?",
        category=accounts,
        answer="Unreleased: tap Forgot password in the new app.",
        status=FaqDocument.Status.DRAFT,
    )
    FaqDocument.objects.create(
        slug=SIGNED_IN,
        question="How do I change my password in my account settings?",
        category=accounts,
        answer="Open Account settings, then Password, and choose a new password.",
        visibility=FaqDocument.Visibility.SIGNED_IN,
    )
    FaqDocument.objects.create(
        slug=STAFF,
        question="How do staff reset a customer's password?",
        category=internal,
        answer="Use the admin console: Customers, then Reset password.",
        visibility=FaqDocument.Visibility.STAFF,
    )


@pytest.fixture
def member():
    client = Client()
    client.force_login(User.objects.create_user("member", password="pw-123456789"))
    return client


@pytest.fixture
def staff():
    client = Client()
    client.force_login(User.objects.create_user("agent", password="pw-123456789", is_staff=True))
    return client


def _slugs_in(html: str) -> set[str]:
    return {slug for slug in ALL if f"/articles/{slug}/" in html}


def _pages(client: Client) -> str:
    """Every listing page an article could appear on, concatenated."""
    parts = [
        client.get("/").content.decode(),
        client.get("/search", {"q": "how do I reset my password"}).content.decode(),
        client.get("/search", {"q": "staff reset customer password in the app"}).content.decode(),
        str(client.get("/search/suggest", {"q": "reset password"}).json()),
        client.get(f"/articles/{PUBLIC}/").content.decode(),
        client.get("/categories/accounts/").content.decode(),
    ]
    internal = client.get("/categories/internal/")
    if internal.status_code == 200:
        parts.append(internal.content.decode())
    return "\n".join(parts)


def test_anonymous_readers_see_only_published_public_articles(articles):
    client = Client()
    assert _slugs_in(_pages(client)) == {PUBLIC}
    for slug in (DRAFT, SIGNED_IN, STAFF):
        assert client.get(f"/articles/{slug}/").status_code == 404
    assert "Unreleased" not in _pages(client)


def test_signed_in_readers_also_see_signed_in_articles(articles, member):
    assert _slugs_in(_pages(member)) == {PUBLIC, SIGNED_IN}
    assert member.get(f"/articles/{SIGNED_IN}/").status_code == 200
    assert member.get(f"/articles/{STAFF}/").status_code == 404
    assert member.get(f"/articles/{DRAFT}/").status_code == 404


def test_staff_see_staff_articles_but_never_drafts(articles, staff):
    assert _slugs_in(_pages(staff)) == {PUBLIC, SIGNED_IN, STAFF}
    assert staff.get(f"/articles/{STAFF}/").status_code == 200
    assert staff.get(f"/articles/{DRAFT}/").status_code == 404


def test_related_articles_respect_visibility(articles, staff):
    anonymous = Client().get(f"/articles/{PUBLIC}/").context["related"]
    assert anonymous == []
    related = {document.slug for document in staff.get(f"/articles/{PUBLIC}/").context["related"]}
    assert related == {SIGNED_IN, STAFF}


def test_a_category_of_only_hidden_articles_does_not_exist_for_those_who_cannot_see_them(articles, staff):
    assert Client().get("/categories/internal/").status_code == 404
    assert "Internal procedures" not in Client().get("/").content.decode()
    assert staff.get("/categories/internal/").status_code == 200
    assert "Internal procedures" in staff.get("/").content.decode()


def test_category_counts_count_only_visible_articles(articles, member):
    counts = {c.slug: c.article_count for c in Client().get("/").context["categories"]}
    assert counts == {"accounts": 1}
    counts = {c.slug: c.article_count for c in member.get("/").context["categories"]}
    assert counts == {"accounts": 2}


def test_the_sitemap_lists_only_public_published_articles_even_for_staff(articles, staff):
    for client in (Client(), staff):
        response = client.get("/sitemap.xml")
        assert response.status_code == 200
        xml = response.content.decode()
        assert _slugs_in(xml) == {PUBLIC}
        assert "/categories/accounts/" in xml and "/categories/internal/" not in xml
