"""/search: a shareable page that answers from the articles, or says honestly that it cannot."""

from __future__ import annotations

import pytest
from django.test import Client

from faq.embeddings import EmbeddingError
from faq.feedback import answer_token
from faq.models import FaqDocument, UserResponse
from tests.conftest import add_articles

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def articles():
    add_articles("reset-password", "track-order", "return-window", "refund-timing")


def test_a_question_gets_the_rendered_answer_and_the_article_it_came_from(articles):
    response = Client().get("/search", {"q": "I forgot my password"})
    assert response.status_code == 200
    html = response.content.decode()
    # Markdown rendered (bold), and the source cited with a link.
    assert "<strong>Forgot password?</strong>" in html
    assert "From:" in html and 'href="/articles/reset-password/"' in html
    assert response.context["sources"][0].slug == "reset-password"
    assert "Was this helpful?" in html
    assert f'name="response" value="{answer_token(UserResponse.objects.get().pk)}"' in html


def test_results_show_question_category_snippet_and_link(articles):
    response = Client().get("/search", {"q": "where is my parcel"})
    html = response.content.decode()
    cards = response.context["cards"]
    assert cards and cards[0].document.slug == "track-order"
    assert 'href="/articles/track-order/"' in html
    assert "Orders and shipping" in html
    # Snippets are plain text: no Markdown asterisks, no tags.
    assert "Open Your orders and select Track parcel" in html


def test_snippets_are_cut_to_about_two_hundred_characters(articles):
    FaqDocument.objects.create(slug="long-article", question="What is the long delivery policy?", answer="word " * 400)
    cards = Client().get("/search", {"q": "long delivery policy"}).context["cards"]
    long = next(card for card in cards if card.document.slug == "long-article")
    assert len(long.snippet) <= 200 and long.snippet.endswith("…")


def test_an_off_topic_question_abstains_with_the_closest_articles_and_a_contact_link(articles, settings):
    settings.SUPPORT_CONTACT_URL = "https://support.example.com/contact"
    response = Client().get("/search", {"q": "What will the weather be in Lisbon tomorrow?"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "could not find an answer" in html
    assert 'href="https://support.example.com/contact"' in html and "Contact support" in html
    assert "Is it one of these?" in html  # the closest articles offered, not only "no answer"
    assert "From:" not in html and "Was this helpful?" not in html
    assert UserResponse.objects.get().answered is False


def test_each_search_page_view_stores_exactly_one_history_row(articles):
    client = Client()
    client.get("/search", {"q": "how do I track my order"}, headers={"X-Request-ID": "page-1"})
    assert UserResponse.objects.count() == 1
    row = UserResponse.objects.get()
    assert row.query == "how do I track my order" and row.request_id == "page-1"
    client.get("/search", {"q": "how do I track my order"})
    assert UserResponse.objects.count() == 2


def test_the_category_filter_limits_the_search_and_is_kept_in_the_form(articles):
    response = Client().get("/search", {"q": "how do I reset my password", "category": "returns"})
    assert response.status_code == 200
    assert {card.document.category.slug for card in response.context["cards"]} == {"returns"}
    assert '<option value="returns" selected>' in response.content.decode()
    assert UserResponse.objects.get().category == "returns"


def test_an_empty_question_shows_the_search_page_without_storing_anything(articles):
    for params in ({}, {"q": ""}, {"q": "   "}):
        response = Client().get("/search", params)
        assert response.status_code == 200
        assert "Type a question to search the help centre." in response.content.decode()
    assert UserResponse.objects.count() == 0


def test_a_question_over_the_limit_gets_a_400_page_naming_the_limit(articles, settings):
    settings.QUERY_MAX_LENGTH = 50
    response = Client().get("/search", {"q": "x" * 51})
    assert response.status_code == 400
    assert "Your question is 51 characters; the limit is 50 (QUERY_MAX_LENGTH)." in response.content.decode()
    assert UserResponse.objects.count() == 0


def test_a_nul_byte_gets_a_400_page(articles):
    response = Client().get("/search", {"q": "reset\x00password"})
    assert response.status_code == 400
    assert "NUL character" in response.content.decode()
    assert UserResponse.objects.count() == 0


def test_an_unknown_category_gets_a_400_page_naming_it(articles):
    response = Client().get("/search", {"q": "reset my password", "category": "no-such-topic"})
    assert response.status_code == 400
    assert "There is no category “no-such-topic”" in response.content.decode()
    assert UserResponse.objects.count() == 0


def test_keyword_only_mode_is_shown_when_the_embedding_backend_fails(articles, monkeypatch):
    def broken(query: str):
        raise EmbeddingError("the model is unavailable")

    monkeypatch.setattr("faq.search.embed_query", broken)
    response = Client().get("/search", {"q": "track my order"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "keyword-only mode" in html
    assert "Contact support" in html
    assert response.context["cards"][0].document.slug == "track-order"
    assert UserResponse.objects.get().answer_mode == UserResponse.Mode.KEYWORD


def test_the_question_is_escaped_not_run(articles):
    query = "<script>window.__xss=1</script> reset password"
    html = Client().get("/search", {"q": query}).content.decode()
    assert "<script>window.__xss" not in html
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in html


def test_the_page_has_no_inline_scripts(articles):
    html = Client().get("/search", {"q": "track my order"}).content.decode()
    assert html.count("<script") == 1 and 'src="/static/js/search.js"' in html


def test_suggestions_are_json_and_store_no_history(articles):
    response = Client().get("/search/suggest", {"q": "forgot my passw"})
    assert response.status_code == 200
    suggestions = response.json()
    assert suggestions[0] == {
        "question": "How do I reset my password?",
        "url": "/articles/reset-password/",
        "category": "Accounts and sign-in",
    }
    assert UserResponse.objects.count() == 0


def test_suggestions_wait_for_three_characters_and_refuse_bad_input(articles, settings):
    client = Client()
    assert client.get("/search/suggest", {"q": "re"}).json() == []
    settings.QUERY_MAX_LENGTH = 20
    too_long = client.get("/search/suggest", {"q": "y" * 21})
    assert too_long.status_code == 400 and "the limit is 20" in too_long.json()["error"]
    unknown = client.get("/search/suggest", {"q": "password", "category": "nope"})
    assert unknown.status_code == 400 and "nope" in unknown.json()["error"]
    assert UserResponse.objects.count() == 0
