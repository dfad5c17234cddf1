"""axe-core 4 finds no accessibility violations on the customer's pages (issue 19 point 5), and
the focus ring is visible where it was not: white on the blue hero, on suggestion links."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote_plus

import pytest
from django.contrib.auth.models import User

from tests.conftest import add_articles

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("orm_beside_playwright")]

PASSWORD = "a-long-password-1"


@pytest.fixture
def help_centre(transactional_db):
    add_articles("reset-password", "track-order", "return-window")
    User.objects.create_user("ana", password=PASSWORD)


def _violations(page, axe_script: str) -> list[str]:
    # Evaluated through the devtools protocol, not as a <script> tag: the site's Content-Security-
    # Policy (no inline script) stays in force on the page axe checks.
    page.evaluate(Path(axe_script).read_text() + "\n;undefined")
    found = page.evaluate("async () => (await axe.run(document)).violations")
    return [f"{v['id']}: {v['help']} at {[node['target'] for node in v['nodes']][:3]}" for v in found]


ANONYMOUS_PAGES = [
    "/",
    "/categories/accounts/",
    "/search?q=" + quote_plus("I forgot my password"),
    "/search?q=" + quote_plus("What will the weather be in Lisbon tomorrow?"),
    "/articles/reset-password/",
    "/accounts/login/",
    "/accounts/signup/",
]


@pytest.mark.parametrize("path", ANONYMOUS_PAGES)
def test_axe_finds_no_violations(page, live_server_url, help_centre, axe_script, path):
    page.goto(live_server_url + path)
    assert _violations(page, axe_script) == []


def test_axe_finds_no_violations_on_the_dashboard_and_a_stored_answer(page, live_server_url, help_centre, axe_script):
    page.goto(live_server_url + "/accounts/login/")
    page.get_by_label("Username").fill("ana")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/dashboard/")
    page.goto(live_server_url + "/search?q=" + quote_plus("how do I track my order"))
    page.goto(live_server_url + "/dashboard/")
    assert _violations(page, axe_script) == []
    page.get_by_role("link", name="Read the answer").click()
    page.wait_for_url("**/answers/*/")
    assert _violations(page, axe_script) == []


def test_the_focus_ring_is_white_on_the_blue_hero_and_visible_on_suggestions(page, live_server_url, help_centre):
    page.goto(live_server_url + "/")
    box = page.get_by_role("searchbox", name="Search the help centre")
    box.focus()
    assert box.evaluate("e => getComputedStyle(e).outlineColor") == "rgb(255, 255, 255)"
    box.press_sequentially("track my parc", delay=20)
    page.locator(".suggestions a").first.wait_for()
    page.keyboard.press("ArrowDown")
    focused = page.evaluate(
        "() => [document.activeElement.className, getComputedStyle(document.activeElement).outlineStyle]"
    )
    assert "suggestion" in focused[0] and focused[1] == "solid"
