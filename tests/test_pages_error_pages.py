"""400/403/404/500 pages look like the site and say what went wrong."""

from __future__ import annotations

import pytest
from django.template import loader
from django.test import Client


@pytest.mark.parametrize("name", ["400.html", "403.html", "403_csrf.html", "404.html", "500.html"])
def test_error_templates_render_without_a_request(name):
    # Django renders 400.html and 500.html with no context at all: they must still work.
    html = loader.get_template(name).render()
    assert '<link rel="stylesheet" href="/static/css/site.css">' in html
    assert "Back to the help centre" in html


@pytest.mark.django_db
def test_an_unknown_page_is_a_friendly_404_naming_the_address():
    response = Client().get("/no/such/page")
    assert response.status_code == 404
    html = response.content.decode()
    assert "find that page" in html and "/no/such/page" in html
    assert 'action="/search"' in html


@pytest.mark.django_db
def test_a_crash_is_a_friendly_500_page(monkeypatch):
    def broken(user, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("faq.views.popular_documents", broken)
    response = Client(raise_request_exception=False).get("/")
    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong on our side" in html and "boom" not in html
