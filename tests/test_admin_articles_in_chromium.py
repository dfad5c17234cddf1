"""Admin at a glance, in Chromium at 1280 px (issue 19 point 6): the preview follows the answer as
staff type, its lists and the similar-articles panel's are not indented by admin's form CSS, and the
models read as staff say them."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from tests.conftest import EDITOR, add_articles, sign_in_to_admin

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("orm_beside_playwright")]


@pytest.fixture
def staff_page(page, admin_server_url, transactional_db):
    add_articles("reset-password", "track-order")
    User.objects.create_superuser(EDITOR[0], "editor@example.com", EDITOR[1])
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in_to_admin(page, admin_server_url + "/admin/")
    return page


def test_the_models_read_faq_articles_and_content_gaps(staff_page, admin_server_url):
    index = staff_page.locator("#content-main").inner_text()
    assert "FAQ articles" in index and "Content gaps" in index and "Faq documents" not in index
    staff_page.goto(admin_server_url + "/admin/insights/gapcluster/")
    assert "content-gap queue" not in staff_page.locator("#content-main").inner_text()


def test_the_preview_follows_the_answer_as_staff_type_and_keeps_lists_flush(staff_page, admin_server_url):
    staff_page.goto(admin_server_url + "/admin/faq/faqdocument/add/")
    staff_page.locator("#id_answer").fill("Steps:\n\n- **Open** the app\n- Tap *Orders*")
    preview = staff_page.locator(".markdown-preview")
    preview.locator("li strong", has_text="Open").wait_for()
    indent = preview.locator("ul").evaluate(
        "e => e.getBoundingClientRect().left - e.parentElement.getBoundingClientRect().left"
    )
    assert indent < 40, f"the list is indented {indent}px inside the preview"
    assert preview.locator("ul li").first.evaluate("e => getComputedStyle(e).listStyleType") == "disc"


def test_the_similar_articles_panel_keeps_its_list_flush(staff_page, admin_server_url):
    from faq.models import FaqDocument

    document = FaqDocument.objects.get(slug="reset-password")
    staff_page.goto(admin_server_url + f"/admin/faq/faqdocument/{document.pk}/change/")
    panel = staff_page.locator("ul.similar-articles")
    panel.locator("li").first.wait_for()
    indent = panel.evaluate("e => e.getBoundingClientRect().left - e.parentElement.getBoundingClientRect().left")
    assert indent < 40, f"the similar-articles list is indented {indent}px"
