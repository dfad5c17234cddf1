"""The content-gap queue in a real browser: staff sign in to admin, see the clusters, follow
"Draft an article from this" to a prefilled add form, publish it, and the gap leaves the queue."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from faq.models import FaqDocument
from tests.insights_history import ISLANDS, KLARNA, asked

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("orm_beside_playwright")]


@pytest.fixture
def gaps(transactional_db) -> None:
    User.objects.create_superuser("editor", "editor@example.com", "pw-123456789")
    customers = [User.objects.create_user(f"customer{n}") for n in range(3)]
    for user, text in zip(customers, KLARNA, strict=False):
        asked(text, user=user, days_ago=2)
    asked(ISLANDS[0], days_ago=1)
    call_command("cluster_questions", verbosity=0)


def test_staff_draft_an_article_from_a_gap_and_publishing_it_empties_that_gap(page, live_server_url, gaps):
    page.goto(live_server_url + "/admin/insights/gapcluster/")
    page.get_by_label("Username").fill("editor")
    page.get_by_label("Password").fill("pw-123456789")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/admin/insights/gapcluster/")

    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 2
    first = rows.first
    assert "klarna" in first.locator(".gap-title").inner_text().lower()
    assert "3" in first.locator("td.field-customers").inner_text()
    assert "Do you deliver to the channel islands" not in first.inner_text()

    first.get_by_role("link", name="Draft an article from this").click()
    page.wait_for_url("**/admin/faq/faqdocument/add/?*")
    title = page.locator("#id_question").input_value()
    assert title.lower().startswith(("can i pay with klarna", "klarna payment", "pay later with klarna"))
    answer = page.locator("#id_answer").input_value()
    for text in KLARNA[:3]:
        assert f"“{text}”" in answer
    assert page.locator("#id_status").input_value() == "draft"

    page.locator("#id_slug").fill("pay-with-klarna")
    page.locator("#id_answer").fill("Yes: choose Klarna at checkout to pay later with Klarna in three instalments.")
    page.locator("#id_status").select_option("published")
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url("**/admin/faq/faqdocument/")
    assert FaqDocument.objects.get(slug="pay-with-klarna").status == FaqDocument.Status.PUBLISHED

    page.goto(live_server_url + "/admin/insights/gapcluster/")
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 1
    assert "channel islands" in rows.first.inner_text().lower()
