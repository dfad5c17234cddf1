"""No dead ends in search (issue 19 point 3), with and without JavaScript: a search limited to one
category that finds no answer offers "Search all categories", which finds it; a search the help
centre abstains on asks "Is it one of these?" with the closest articles."""

from __future__ import annotations

from urllib.parse import quote_plus

import pytest

from tests.conftest import add_articles

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("orm_beside_playwright")]

QUESTION = "how do I track my order"


@pytest.fixture
def help_centre(transactional_db):
    add_articles("reset-password", "track-order")


@pytest.mark.parametrize("javascript", [True, False])
def test_a_category_search_without_an_answer_offers_all_categories(browser, live_server_url, help_centre, javascript):
    context = browser.new_context(java_script_enabled=javascript)
    page = context.new_page()
    try:
        page.goto(f"{live_server_url}/search?q={quote_plus(QUESTION)}&category=accounts")
        assert "No answer found" in page.locator("section.no-answer").inner_text()
        page.get_by_role("link", name="Search all categories").click()
        page.wait_for_url(f"**/search?q={quote_plus(QUESTION).replace('+', '%20')}")
        assert "How can I track my order?" in page.locator("section.answer").inner_text()
    finally:
        context.close()


@pytest.mark.parametrize("javascript", [True, False])
def test_an_abstained_search_asks_is_it_one_of_these(browser, live_server_url, help_centre, javascript):
    context = browser.new_context(java_script_enabled=javascript)
    page = context.new_page()
    try:
        page.goto(f"{live_server_url}/search?q={quote_plus('What will the weather be in Lisbon tomorrow?')}")
        assert "No answer found" in page.locator("section.no-answer").inner_text()
        offer = page.locator("section", has=page.get_by_role("heading", name="Is it one of these?"))
        assert (
            offer.get_by_role("link", name="How can I track my order?").count()
            + offer.get_by_role("link", name="How do I reset my password?").count()
            >= 1
        )
    finally:
        context.close()
