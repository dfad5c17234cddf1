"""A refused CSRF check is a 403 page for everyone, signed in or not, never a 500."""

from __future__ import annotations

import pytest

from tests.conftest import signed_in_session

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("path", ["/feedback", "/dashboard/clear-history/"])
def test_a_wrong_csrf_token_from_a_signed_in_user_is_a_403_page(live_server_url, path):
    session = signed_in_session(live_server_url, f"csrf-{path.strip('/').replace('/', '-')}", "pw-csrf-123456")
    response = session.post(
        live_server_url + path,
        data={"csrfmiddlewaretoken": "wrong" * 8, "helpful": "yes", "document": "x"},
        allow_redirects=False,
        timeout=30,
    )
    assert response.status_code == 403, response.text[:300]
    assert "Please try that again" in response.text
    # The page still knows who is signed in (it renders with the session, off the event loop).
    assert "Sign out" in response.text


def test_a_wrong_csrf_token_from_an_anonymous_visitor_is_a_403_page(live_server_url):
    import requests

    response = requests.post(live_server_url + "/feedback", data={"helpful": "yes"}, timeout=30)
    assert response.status_code == 403
    assert "Please try that again" in response.text
