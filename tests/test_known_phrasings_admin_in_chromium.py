"""Known phrasings in a real browser: staff add one in the article's "Also asked as" inline (one
nearer to another article is flagged before saving), and answer a gap with an article."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from faq.models import FaqDocument, KnownPhrasing
from insights.models import GapCluster
from tests.conftest import EDITOR, sign_in_to_admin
from tests.insights_history import KLARNA, asked, published_long_ago

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("orm_beside_playwright")]


@pytest.fixture
def articles(transactional_db) -> dict[str, FaqDocument]:
    User.objects.create_superuser(EDITOR[0], "editor@example.com", EDITOR[1])
    order = FaqDocument.objects.create(slug="where-is-my-order", question="Where is my order?", answer="See Orders.")
    password = FaqDocument.objects.create(
        slug="reset-password", question="How do I reset my password?", answer="Choose Forgot password."
    )
    return {"order": order, "password": password}


def test_the_also_asked_as_inline_saves_a_phrasing_and_flags_one_that_belongs_elsewhere(
    page, admin_server_url, articles
):
    order = articles["order"]
    sign_in_to_admin(page, f"{admin_server_url}/admin/faq/faqdocument/{order.pk}/change/")
    assert "Also asked as" in page.content()
    page.locator("#id_phrasings-0-text").fill("I forgot my password and cannot sign in")
    with page.expect_navigation():  # the form posts and the page reloads
        page.get_by_role("button", name="Save and continue editing").click()
    assert "is nearer to 'How do I reset my password?'" in page.content()
    assert not KnownPhrasing.objects.exists()

    page.locator("#id_phrasings-0-text").fill("my parcel has not turned up yet")
    with page.expect_navigation():  # the form posts and the page reloads
        page.get_by_role("button", name="Save and continue editing").click()
    (saved,) = KnownPhrasing.objects.all()
    assert (saved.text, saved.source, saved.status, saved.approved_by.username) == (
        "my parcel has not turned up yet",
        "staff",
        "approved",
        "editor",
    )


def test_a_gap_answered_by_an_article_leaves_the_queue(page, admin_server_url, articles):
    pay_later = FaqDocument.objects.create(question="Can I pay in instalments?", answer="Yes: choose Pay later.")
    published_long_ago(pay_later, days=60)
    for n, text in enumerate(KLARNA[:3]):
        asked(text, user=User.objects.create_user(f"customer{n}"), days_ago=2)
    call_command("cluster_questions", verbosity=0)
    sign_in_to_admin(page, admin_server_url + "/admin/insights/gapcluster/")
    page.wait_for_url("**/admin/insights/gapcluster/")
    page.locator("#result_list tbody input[type=checkbox]").first.check()
    page.locator("select[name=action]").select_option("answered_by_article")
    page.get_by_role("button", name="Go").click()
    page.get_by_label("Article that answers these questions").select_option(label=str(pay_later))
    # The action's page has the queue's own address: wait for the navigation, not the URL.
    with page.expect_navigation():
        page.get_by_role("button", name="Answered by this article").click()
    assert "are now its known phrasings" in page.content()
    assert not GapCluster.objects.open().exists()
    assert KnownPhrasing.objects.filter(document=pay_later, source="gap_queue").count() == 3
