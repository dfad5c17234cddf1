"""Sign-up in Chromium: the password rules are shown before submitting, each error sits under its
own field, one a line, and every aria-describedby names an element on the page."""

from __future__ import annotations

import itertools

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("orm_beside_playwright")]

DANGLING_DESCRIBEDBY = """() => [...document.querySelectorAll('[aria-describedby]')].flatMap(
    e => e.getAttribute('aria-describedby').split(/\\s+/).filter(id => !document.getElementById(id)))"""


def test_the_header_offers_sign_up_and_the_password_rules_come_before_submitting(
    page, live_server_url, transactional_db
):
    page.goto(live_server_url + "/")
    page.locator(".site-header").get_by_role("link", name="Sign up").click()
    page.wait_for_url("**/accounts/signup/")
    password = page.locator(".form-field", has=page.get_by_label("Password", exact=True))
    assert "at least" in password.locator(".help-text").inner_text()
    assert page.evaluate(DANGLING_DESCRIBEDBY) == []


def test_sign_up_errors_are_one_a_line_under_their_own_field(page, live_server_url, transactional_db):
    page.goto(live_server_url + "/accounts/signup/")
    page.get_by_label("Username").fill("ana")
    page.get_by_label("Password", exact=True).fill("123")
    page.get_by_label("Password confirmation").fill("1234")
    page.get_by_role("button", name="Create account").click()
    confirmation = page.locator(".form-field", has=page.get_by_label("Password confirmation"))
    errors = confirmation.locator(".field-errors li")
    assert errors.count() >= 1 and "match" in errors.first.inner_text()
    boxes = [errors.nth(i).bounding_box() for i in range(errors.count())]
    assert all(later["y"] > earlier["y"] for earlier, later in itertools.pairwise(boxes))  # one a line
    assert page.evaluate(DANGLING_DESCRIBEDBY) == []
