"""Links in article text work, snippets read as text, and the dashboard shows answers as text
(issue 19 point 1), in Chromium."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.contrib.auth.models import User

from faq.models import FaqDocument, UserResponse
from tests.conftest import add_articles, category

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("orm_beside_playwright")]

DEMO = Path(__file__).resolve().parent.parent / "faq" / "demo" / "faqs.jsonl"
TABLE = (
    "| Method | Cost |\n|---|---|\n| Card | Free |\n| Invoice | 2 euros |\n\nSee (/articles/track-order/) for the rest."
)


@pytest.fixture
def help_centre(transactional_db):
    add_articles("reset-password", "track-order")
    FaqDocument.objects.create(
        slug="payment-costs",
        question="What does each payment method cost?",
        category=category("orders"),
        answer=TABLE + " " + "Extraordinarily " * 20,
    )


def test_a_path_written_in_an_article_is_a_link_that_opens_the_article(page, live_server_url, help_centre):
    page.goto(live_server_url + "/articles/payment-costs/")
    link = page.locator(".article .prose a", has_text="/articles/track-order/")
    assert link.get_attribute("href") == "/articles/track-order/"
    link.click()
    page.wait_for_url("**/articles/track-order/")
    assert page.locator("h1").inner_text() == "How can I track my order?"


def test_a_snippet_keeps_table_cells_apart_and_words_whole(page, live_server_url, help_centre):
    page.goto(live_server_url + "/categories/orders/")
    snippet = page.locator("li", has_text="What does each payment method cost?").inner_text()
    assert "Card Free" in snippet and "CardFree" not in snippet
    words = snippet.rstrip("…").split()
    assert words[-1] in ("Extraordinarily", "rest."), words[-1]  # cut between words, not inside one


def test_the_dashboard_shows_answers_as_text_not_markdown(page, live_server_url, help_centre):
    user = User.objects.create_user("ana", password="a-long-password-1")
    UserResponse.objects.create(
        user=user,
        query="card costs",
        response="**Cards:** free, see [costs](/articles/payment-costs/)",
        answered=True,
        answer_mode="extractive",
    )
    page.goto(live_server_url + "/accounts/login/")
    page.get_by_label("Username").fill("ana")
    page.get_by_label("Password").fill("a-long-password-1")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/dashboard/")
    preview = page.locator(".answer-preview").inner_text()
    assert preview.startswith("Cards: free, see costs") and "**" not in preview and "](" not in preview
    page.locator(".answer-preview").get_by_role("link", name="Read the answer").click()
    page.wait_for_url("**/answers/*/")
    assert page.locator("[data-answer-text] strong").inner_text() == "Cards:"


def test_the_demo_articles_link_with_markdown_to_articles_that_exist():
    rows = [json.loads(line) for line in DEMO.read_text().splitlines() if line.strip()]
    slugs = {row["id"] for row in rows}
    links = [slug for row in rows for slug in re.findall(r"\]\(/articles/([a-z0-9-]+)/\)", row["answer"])]
    bare = [row["id"] for row in rows if re.search(r"(?<!\])\(/articles/", row["answer"])]
    assert len(links) >= 50 and set(links) <= slugs
    assert bare == [], f"bare paths (not Markdown links) in {bare}"
