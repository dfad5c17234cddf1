from __future__ import annotations

import pytest

# The database the live server reads is set up (and emptied afterwards) even when this test runs alone:
# it failed alone, or first in a run, with a 500/503 from the server.
pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("orm_beside_playwright")]


def test_home_page_loads_with_a_search_box(page, live_server_url, transactional_db):
    response = page.goto(live_server_url + "/")
    assert response.status == 200
    assert page.title().startswith("How can we help?")
    search = page.get_by_role("searchbox", name="Search the help centre")
    search.fill("reset my password")
    assert search.input_value() == "reset my password"
    # The stylesheet is served by the app itself (WhiteNoise), not only under DEBUG.
    color = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert color == "rgb(246, 247, 251)"
