from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from faq.answers import ask
from faq.models import ArticleView, FaqDocument, UserResponse

pytestmark = pytest.mark.django_db


@pytest.fixture
def articles():
    FaqDocument.objects.create(slug="refunds", question="When will I get my refund?", answer="Within 5 working days.")
    FaqDocument.objects.create(slug="password", question="How do I reset my password?", answer="Use Forgot password.")


def test_the_dashboard_needs_a_sign_in():
    response = Client().get("/dashboard/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_the_dashboard_shows_questions_answers_ask_again_and_reasoned_recommendations(articles):
    ann = User.objects.create_user("ann")
    ask("my refund is late", user=ann)
    client = Client()
    client.force_login(ann)
    page = client.get("/dashboard/").content.decode()
    assert "my refund is late" in page and "Within 5 working days." in page
    assert "/search?q=my%20refund%20is%20late" in page
    assert "Because you asked \u201cmy refund is late\u201d" in page
    assert "Clear my history" in page


def test_clearing_history_deletes_only_the_users_rows_and_recommendations_change(articles):
    ann, bob = User.objects.create_user("ann"), User.objects.create_user("bob")
    ask("my refund is late", user=ann)
    ask("my refund is late", user=bob)
    ArticleView.objects.create(user=ann, document=FaqDocument.objects.first())
    client = Client()
    client.force_login(ann)
    response = client.post("/dashboard/clear-history/", follow=True)
    assert "Your history is cleared (1 question(s) deleted)." in response.content.decode()
    assert not UserResponse.objects.filter(user=ann).exists() and not ArticleView.objects.filter(user=ann).exists()
    assert UserResponse.objects.filter(user=bob).count() == 1
    assert "Popular in the last 30 days" in client.get("/dashboard/").content.decode()


def test_clearing_history_is_csrf_protected(articles):
    ann = User.objects.create_user("ann")
    client = Client(enforce_csrf_checks=True)
    client.force_login(ann)
    assert client.post("/dashboard/clear-history/").status_code == 403


def test_purge_history_deletes_rows_past_the_retention_setting(articles, settings):
    settings.HISTORY_RETENTION_DAYS = 30
    ask("old question", user=None)
    ask("new question", user=None)
    UserResponse.objects.filter(query="old question").update(created_at=timezone.now() - timedelta(days=31))
    out = StringIO()
    call_command("purge_history", "--dry-run", stdout=out)
    assert "would delete 1 question(s)" in out.getvalue() and UserResponse.objects.count() == 2
    call_command("purge_history", stdout=out)
    assert list(UserResponse.objects.values_list("query", flat=True)) == ["new question"]
    call_command("purge_history", stdout=out)  # idempotent
    assert UserResponse.objects.count() == 1


def test_customers_can_sign_up_unless_the_setting_turns_it_off(settings):
    client = Client()
    response = client.post(
        "/accounts/signup/",
        {"username": "newbie", "email": "", "password1": "a-long-pass-phrase-9", "password2": "a-long-pass-phrase-9"},
    )
    assert response.status_code == 302 and response["Location"] == "/dashboard/"
    assert client.get("/dashboard/").status_code == 200
    bad = Client().post("/accounts/signup/", {"username": "x", "password1": "1", "password2": "2"})
    assert bad.status_code == 400 and "didn" in bad.content.decode()
    settings.ALLOW_SIGNUP = False
    assert Client().get("/accounts/signup/").status_code == 404


def test_sign_in_and_sign_out_work_with_the_sites_pages():
    User.objects.create_user("ann", password="a-long-pass-phrase-9")
    client = Client()
    page = client.get("/accounts/login/").content.decode()
    assert 'href="/static/css/site.css"' in page and "Sign in" in page
    response = client.post("/accounts/login/", {"username": "ann", "password": "a-long-pass-phrase-9"})
    assert response.status_code == 302 and response["Location"] == "/dashboard/"
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/dashboard/").status_code == 302
