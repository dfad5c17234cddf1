"""In Chromium, the site's pages work under their own Content-Security-Policy: no script, style,
socket or image of the home page, a streamed answer with a table, the admin's article form or the
API docs is refused by it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User

from faq.models import FaqDocument
from tests.conftest import add_articles, category, generating_server

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("orm_beside_playwright")]


@pytest.fixture(scope="module")
def streaming_server_url(django_db_setup, django_db_blocker, openai_server) -> Iterator[str]:
    with generating_server(django_db_blocker, openai_server) as url:
        yield url


@pytest.fixture
def refusals(page) -> list[str]:
    """Every CSP refusal Chromium reports on the page."""
    seen: list[str] = []
    page.on("console", lambda message: "Content Security Policy" in message.text and seen.append(message.text))
    return seen


@pytest.fixture
def help_centre(transactional_db, openai_server):
    openai_server.reset()
    add_articles("return-window")
    return FaqDocument.objects.create(
        slug="return-costs",
        question="What does sending a return cost?",
        category=category("returns"),
        answer="| Item | Cost |\n|:-----|-----:|\n| Shoes | £0 |\n| Sofa | £40 |",
    )


def test_the_home_page_and_a_streamed_answer_keep_to_the_policy(page, refusals, streaming_server_url, help_centre):
    sockets: list[str] = []
    page.on("websocket", lambda socket: sockets.append(socket.url))
    page.goto(streaming_server_url + "/")
    page.get_by_role("searchbox", name="Search the help centre").fill("how many days do I have to return an item?")
    page.get_by_role("button", name="Search").click()
    page.locator('[data-search-results][data-state="done"]').wait_for(timeout=30_000)
    assert sockets, "the answer did not stream over the websocket"
    assert refusals == []


def test_an_article_with_a_table_keeps_its_alignment(page, refusals, streaming_server_url, help_centre):
    page.goto(streaming_server_url + "/articles/return-costs/")
    cell = page.locator("td", has_text="£40")
    assert cell.evaluate("cell => getComputedStyle(cell).textAlign") == "right"
    assert refusals == []


def test_the_admin_article_form_and_the_api_docs_keep_to_the_policy(page, refusals, streaming_server_url, help_centre):
    User.objects.create_superuser("csp-admin", password="pw-csp-admin-1")
    page.goto(streaming_server_url + "/admin/login/")
    page.fill("#id_username", "csp-admin")
    page.fill("#id_password", "pw-csp-admin-1")
    page.click("input[type=submit]")
    page.goto(streaming_server_url + f"/admin/faq/faqdocument/{help_centre.pk}/change/")
    page.locator(".markdown-preview").wait_for()
    assert refusals == []
    assert page.locator(".markdown-preview td.align-right").count() == 2
    page.goto(streaming_server_url + "/api/docs")
    page.locator(".swagger-ui .info").wait_for(timeout=20_000)
    assert refusals == []
