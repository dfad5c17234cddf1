"""The search pages in a real browser: without JavaScript, with suggestions, never running
injected script, and "Was this helpful?" stored with one click."""

from __future__ import annotations

from urllib.parse import quote_plus

import pytest

from faq.models import FaqDocument, Feedback, UserResponse
from tests.conftest import add_articles, category

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("orm_beside_playwright")]

XSS = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">'


@pytest.fixture
def help_centre(transactional_db):
    add_articles("reset-password", "track-order")
    FaqDocument.objects.create(
        slug="script-in-answer",
        question="Why does my gift card code show strange characters?",
        category=category("orders"),
        answer=f"Gift card codes sometimes show characters like {XSS} when copied from email.",
    )


def test_search_works_with_javascript_disabled(browser, live_server_url, help_centre):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(live_server_url + "/")
        page.get_by_role("searchbox", name="Search the help centre").fill("I forgot my password")
        page.get_by_role("button", name="Search").click()
        page.wait_for_url("**/search?q=I+forgot+my+password")
        answer = page.locator("section.answer")
        assert "Forgot password?" in answer.inner_text()
        assert answer.get_by_role("link", name="How do I reset my password?").get_attribute("href") == (
            "/articles/reset-password/"
        )
        # Without JavaScript, "Was this helpful?" is a plain form post that comes back to the same
        # answer (stored: the question is not asked again), at the feedback area, with thanks.
        page.get_by_role("button", name="Yes").click()
        page.wait_for_url("**/answers/*/#feedback")
        assert "Forgot password?" in page.locator("section.answer").inner_text()
        assert "Thanks for your feedback!" in page.locator("#feedback").inner_text()
        page.reload()  # a reload is a GET of the answer: no second vote, no second question
    finally:
        context.close()
    assert UserResponse.objects.count() == 1
    assert Feedback.objects.get().helpful is True


def test_search_as_you_type_shows_suggestions_without_storing_history(page, live_server_url, help_centre):
    page.goto(live_server_url + "/")
    page.get_by_role("searchbox", name="Search the help centre").press_sequentially("track my parc", delay=20)
    suggestion = page.locator(".suggestions a", has_text="How can I track my order?")
    suggestion.wait_for()
    assert "Orders and shipping" in suggestion.inner_text()
    assert suggestion.get_attribute("href") == "/articles/track-order/"
    page.keyboard.press("Escape")
    assert page.locator(".suggestions").is_hidden()
    assert UserResponse.objects.count() == 0


def test_script_in_an_article_or_a_question_never_runs(page, live_server_url, help_centre):
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(live_server_url + "/articles/script-in-answer/")
    assert XSS in page.locator(".article .prose").inner_text()  # shown as text

    query = f"gift card strange characters {XSS}"
    page.goto(live_server_url + "/")
    box = page.get_by_role("searchbox", name="Search the help centre")
    box.fill(query)
    page.locator(".suggestions a").first.wait_for()  # suggestions quote the article's title
    box.press("Enter")
    page.wait_for_url("**/search?q=*")
    assert "strange characters" in page.locator("section.answer").inner_text()
    page.goto(live_server_url + "/search?q=" + quote_plus(query))
    assert page.get_by_role("searchbox").input_value() == query
    page.wait_for_timeout(300)  # let any injected onerror fire, were there one
    assert page.evaluate("window.__xss") is None
    assert dialogs == []


def test_was_this_helpful_is_stored_with_one_click(page, live_server_url, help_centre):
    page.goto(live_server_url + "/search?q=" + quote_plus("how do I track my order"))
    response_id = UserResponse.objects.get().pk
    page.locator("section.answer").get_by_role("button", name="No").click()
    status = page.locator("section.answer [data-feedback-status]").filter(has_text="Thanks")
    status.wait_for()
    assert "Thanks for your feedback!" in status.inner_text()
    # "No" asks what they were looking for, and focus stays on the feedback area.
    assert page.evaluate("document.activeElement.id") == "feedback"
    page.get_by_label("What were you looking for?").fill("Tracking abroad")
    page.get_by_role("button", name="Send").click()
    page.get_by_role("button", name="Update").wait_for()
    assert page.url.endswith("/search?q=how+do+I+track+my+order")  # no page load
    feedback = Feedback.objects.get()
    assert feedback.response_id == response_id and feedback.helpful is False
    assert feedback.comment == "Tracking abroad"


def test_article_feedback_with_a_comment_is_stored(page, live_server_url, help_centre):
    page.goto(live_server_url + "/articles/reset-password/")
    page.get_by_role("button", name="No").click()
    page.get_by_label("What were you looking for?").fill("Say how long the link lasts.")
    page.get_by_role("button", name="Send").click()
    page.get_by_role("button", name="Update").wait_for()
    feedback = Feedback.objects.get()
    assert feedback.document.slug == "reset-password" and feedback.comment == "Say how long the link lasts."
