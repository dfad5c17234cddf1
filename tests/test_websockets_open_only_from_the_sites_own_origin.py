"""The answer websocket of a real Daphne process opens only for pages of this very origin: same
host AND port. A page on another port of the same machine is another site that the browser
would still send this site's cookies for."""

from __future__ import annotations

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from supportsite.asgi_guards import same_origin

pytestmark = pytest.mark.django_db(transaction=True)


def _opens(base: str, origin: str | None) -> bool:
    try:
        with connect(base.replace("http://", "ws://") + "/ws/answer/", origin=origin, open_timeout=10):
            return True
    except InvalidStatus as exc:
        assert exc.response.status_code == 403
        return False


def test_the_sites_own_origin_may_connect(live_server_url):
    assert _opens(live_server_url, live_server_url)


@pytest.mark.parametrize(
    "origin",
    ["http://127.0.0.1:9999", "http://localhost:{port}", "https://evil.example", "null", None],
)
def test_any_other_origin_is_refused(live_server_url, origin):
    port = live_server_url.rsplit(":", 1)[1]
    assert not _opens(live_server_url, origin and origin.format(port=port))


@pytest.mark.parametrize(
    ("origin", "host", "expected"),
    [
        ("https://127.0.0.1", "127.0.0.1", True),  # no port in Host: the scheme's default port
        ("http://127.0.0.1:80", "127.0.0.1", True),
        ("https://127.0.0.1:8443", "127.0.0.1", False),
        ("http://[::1]:8000", "[::1]:8000", True),
        ("http://[::1]:8001", "[::1]:8000", False),
        ("http://evil.example:8000", "evil.example:8000", False),  # same, but not in ALLOWED_HOSTS
        ("http://127.0.0.1:x", "127.0.0.1", False),
        ("ftp://127.0.0.1", "127.0.0.1", False),
    ],
)
def test_origin_and_host_must_match_in_host_and_port(origin, host, expected):
    assert same_origin(origin, host) is expected


def test_origins_trusted_for_csrf_are_trusted_here_too(settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://help.example.com"]
    assert same_origin("https://help.example.com", "10.0.0.5:8000")


def test_the_origin_check_and_session_lookup_wrap_the_routes_once():
    # Wrapped around every route in supportsite/asgi.py; a route wrapped again would check the
    # origin and load the session twice per connection.
    from faq.consumers import AnswerConsumer
    from supportsite.routing import websocket_urlpatterns

    assert [route.callback.consumer_class for route in websocket_urlpatterns] == [AnswerConsumer]
