"""With an AI provider configured, the search form streams the generated answer over a websocket:
the answer grows on the page as it is written, the URL stays shareable, one history row is kept."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest

from faq.models import FaqDocument, Feedback, UserResponse
from tests.conftest import add_articles, category, generating_server

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("orm_beside_playwright")]

QUESTION = "how many days do I have to send something back?"
XSS = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">'
# Records every different text the answer shows, so the test can see it grow piece by piece.
WATCH_THE_ANSWER = """
window.__answerSnapshots = [];
new MutationObserver(() => {
  const answer = document.querySelector("[data-answer-text]");
  const seen = window.__answerSnapshots;
  if (answer && seen[seen.length - 1] !== answer.textContent) seen.push(answer.textContent);
}).observe(document, {subtree: true, childList: true, characterData: true});
"""


@pytest.fixture(scope="module")
def streaming_server_url(django_db_setup, django_db_blocker, openai_server) -> Iterator[str]:
    """A second Daphne on the test database, answering with the tests' OpenAI-compatible server."""
    with generating_server(django_db_blocker, openai_server) as url:
        yield url


@pytest.fixture
def help_centre(transactional_db, openai_server):
    openai_server.reset()
    add_articles("return-window")
    FaqDocument.objects.create(
        slug="gift-card-characters",
        question="Why does my gift card code show strange characters?",
        category=category("returns"),
        answer=f"{XSS} Gift card codes sometimes show strange characters when copied from email.",
    )


def _ask_from_the_home_page(page, base_url: str, question: str) -> list:
    sockets = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    page.add_init_script(WATCH_THE_ANSWER)
    page.goto(base_url + "/")
    assert page.locator("form[data-search-form]").get_attribute("data-streaming") == "true"
    page.get_by_role("searchbox", name="Search the help centre").fill(question)
    page.get_by_role("button", name="Search").click()
    page.locator('[data-search-results][data-state="done"]').wait_for(timeout=30_000)
    return sockets


def test_the_generated_answer_streams_in_and_is_stored_once(page, streaming_server_url, help_centre):
    sockets = _ask_from_the_home_page(page, streaming_server_url, QUESTION)
    assert sockets and sockets[0].endswith("/ws/answer/")

    row = UserResponse.objects.get()
    assert row.query == QUESTION and row.answer_mode == "openai" and row.answered
    assert row.response.startswith("According to the help centre")
    # Before the final (rendered Markdown) answer, the raw text grew chunk by chunk.
    snapshots = page.evaluate("window.__answerSnapshots")
    growing = [s for s in snapshots if s and row.response.startswith(s) and len(s) < len(row.response)]
    assert len(growing) >= 3, f"the answer did not appear progressively: {snapshots}"
    assert [len(s) for s in growing] == sorted(len(s) for s in growing)
    assert row.response in [s.strip() for s in snapshots]
    assert "30 days" in page.locator("section.answer [data-answer-text] strong").first.inner_text()

    # Shareable: the address is the search page's own URL for this question.
    address = urlsplit(page.url)
    assert address.path == "/search" and parse_qs(address.query)["q"] == [QUESTION]
    assert page.title().startswith(QUESTION)
    assert page.locator("section.answer .sources a").first.get_attribute("href") == "/articles/return-window/"

    page.locator("section.answer").get_by_role("button", name="Yes").click()
    page.locator("section.answer [data-feedback-status]").filter(has_text="Thanks").wait_for()
    assert Feedback.objects.get().response_id == row.pk


def test_an_off_topic_question_streams_the_honest_no_answer(page, streaming_server_url, help_centre):
    _ask_from_the_home_page(page, streaming_server_url, "What will the weather be in Lisbon tomorrow?")
    no_answer = page.locator("section.no-answer")
    assert "could not find an answer" in no_answer.inner_text()
    assert no_answer.get_by_role("link", name="Contact support").get_attribute("href") == "mailto:support@example.com"
    assert UserResponse.objects.get().answered is False


def test_a_streamed_answer_quoting_script_never_runs_it(page, streaming_server_url, help_centre):
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    _ask_from_the_home_page(page, streaming_server_url, f"gift card code strange characters {XSS}")
    # The model's answer quotes the article and the question, script and all: as text.
    assert "window.__xss" in page.locator("section.answer").inner_text()
    page.wait_for_timeout(300)
    assert page.evaluate("window.__xss") is None
    assert dialogs == []
    assert UserResponse.objects.get().answer_mode == "openai"


def test_the_shared_address_answers_on_its_own_without_the_websocket(page, streaming_server_url, help_centre):
    page.goto(streaming_server_url + "/search?q=how+many+days+do+I+have+to+send+something+back%3F")
    assert page.locator("section.answer").inner_text().count("According to the help centre") == 1
    assert UserResponse.objects.get().answer_mode == "openai"
