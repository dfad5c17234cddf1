"""Admin at a glance at 1280x800 (issue 19 point 6), measured in Chromium: the article list shows
the question wide and every column without clipping, and the content-gap queue fits without a
horizontal scroll."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.utils import timezone

from faq.models import FaqDocument
from tests.conftest import EDITOR, sign_in_to_admin
from tests.insights_history import ENGRAVING, ISLANDS, KLARNA, asked

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("orm_beside_playwright")]

# Long, real-looking questions a customer asks: the gap queue's widest cells.
LONG_GAPS = [
    "I ordered a sofa three weeks ago and the delivery company keeps rescheduling, can I get a refund for it",
    "I ordered a sofa three weeks ago and the courier keeps rescheduling the delivery, can I have my money back",
]


@pytest.fixture
def staff_page(page, admin_server_url, transactional_db):
    call_command("load_demo", verbosity=0)  # the shipped articles: real question lengths
    # Written before the questions below, so none of them counts as answered by a newer article.
    FaqDocument.objects.update(updated_at=timezone.now() - timedelta(days=30))
    User.objects.create_superuser(EDITOR[0], "editor@example.com", EDITOR[1])
    for texts in (KLARNA, ISLANDS, ENGRAVING, LONG_GAPS):
        for text in texts:
            asked(text, days_ago=2)
    call_command("cluster_questions", verbosity=0)
    page.set_viewport_size({"width": 1280, "height": 800})
    sign_in_to_admin(page, admin_server_url + "/admin/")
    return page


def overflow(page) -> dict:
    """How the changelist's table fits: its scrolling box, the cells that clip, the column widths."""
    return page.evaluate(
        """() => {
        const box = document.querySelector('#changelist .results');
        const table = document.querySelector('#result_list');
        const clipped = [...table.querySelectorAll('th, td')]
            .filter(cell => cell.scrollWidth > cell.clientWidth + 1)
            .map(cell => cell.className + ': ' + cell.innerText.slice(0, 40));
        const widths = Object.fromEntries([...table.querySelectorAll('thead th')]
            .map(th => [th.className.split(' ').find(c => c.startsWith('column-')) || th.className,
                        th.getBoundingClientRect().width]));
        return {scroll: box.scrollWidth, client: box.clientWidth, table: table.getBoundingClientRect().width,
                clipped, widths};
    }"""
    )


def test_the_article_list_shows_the_question_wide_and_clips_no_column(staff_page, admin_server_url):
    staff_page.goto(admin_server_url + "/admin/faq/faqdocument/")
    fit = overflow(staff_page)
    assert fit["scroll"] <= fit["client"], f"the article list scrolls sideways: {fit}"
    assert fit["clipped"] == [], f"cells clip their content: {fit['clipped']}"
    # The question is what staff scan for: it gets at least a third of the table, as much as the rest.
    assert fit["widths"]["column-question"] >= fit["table"] / 3, fit["widths"]


def test_the_content_gap_queue_fits_without_a_horizontal_scroll(staff_page, admin_server_url):
    staff_page.goto(admin_server_url + "/admin/insights/gapcluster/")
    assert staff_page.locator("#result_list tbody tr").count() >= 3
    fit = overflow(staff_page)
    assert fit["scroll"] <= fit["client"], f"the content-gap queue scrolls sideways: {fit}"
    page_width = staff_page.evaluate("() => document.documentElement.scrollWidth")
    assert page_width <= 1280, f"the page is {page_width}px wide at a 1280px window"


def test_article_health_fits_without_a_horizontal_scroll(staff_page, admin_server_url):
    staff_page.goto(admin_server_url + "/admin/insights/articlehealth/")
    fit = overflow(staff_page)
    assert fit["scroll"] <= fit["client"], f"article health scrolls sideways: {fit}"
