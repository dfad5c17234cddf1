"""Every response carries the Content-Security-Policy; behind the HTTPS proxy, HTTPS responses
carry HSTS and plain HTTP is redirected to HTTPS (except the probes and /metrics)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from tests.conftest import daphne_server

POLICY_START = "default-src 'self'; script-src 'self'; style-src 'self'"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["/", "/search?q=refund", "/accounts/login/", "/no-such-page/", "/static/js/search.js", "/healthz"]
)
def test_every_response_carries_the_content_security_policy(client, path):
    response = client.get(path)
    assert response["Content-Security-Policy"].startswith(POLICY_START)
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]


@pytest.mark.django_db
def test_api_errors_carry_it_too(client):
    response = client.post("/api/ai_faq_search", "{", content_type="application/json")
    assert response.status_code == 400 and "frame-ancestors 'none'" in response["Content-Security-Policy"]


@pytest.fixture(scope="module")
def https_proxied(django_db_setup, django_db_blocker) -> Iterator[str]:
    with daphne_server(django_db_blocker, BEHIND_HTTPS_PROXY="true") as url:
        yield url


@pytest.mark.django_db(transaction=True)
def test_https_responses_behind_the_proxy_carry_hsts(https_proxied):
    response = requests.get(https_proxied + "/", headers={"X-Forwarded-Proto": "https"}, timeout=30)
    assert response.status_code == 200
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"


@pytest.mark.django_db(transaction=True)
def test_plain_http_behind_the_proxy_is_redirected_but_the_probes_are_not(https_proxied):
    page = requests.get(https_proxied + "/search?q=refund", allow_redirects=False, timeout=30)
    assert page.status_code == 301
    assert page.headers["Location"] == https_proxied.replace("http://", "https://") + "/search?q=refund"
    assert requests.get(https_proxied + "/healthz", allow_redirects=False, timeout=30).status_code == 200
