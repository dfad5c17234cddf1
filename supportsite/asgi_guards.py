"""ASGI guard in front of Channels: websockets open only from the site's own origin."""

from __future__ import annotations

from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def _header(scope: dict, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def same_origin(origin: str | None, host: str | None) -> bool:
    """Whether a websocket handshake's Origin is this site: the same host AND port as the Host the
    browser connected to (a page on another port of the same machine is another origin), and that
    host is in ALLOWED_HOSTS. Origins in CSRF_TRUSTED_ORIGINS are accepted as they are (a proxy
    that rewrites Host)."""
    if not origin or not host:
        return False
    if origin in settings.CSRF_TRUSTED_ORIGINS:
        return True
    parsed = urlsplit(origin)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        return False
    try:
        origin_port = parsed.port or _DEFAULT_PORTS[parsed.scheme]
    except ValueError:  # a port that is not a number
        return False
    domain, port = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return False
    host_port = int(port) if port else _DEFAULT_PORTS[parsed.scheme]
    return domain.strip("[]") == parsed.hostname.lower() and host_port == origin_port


class SameOriginWebsocket:
    """Browsers send the site's cookies with any page's websocket handshake, so only pages of this
    very origin may open one (Channels' AllowedHostsOriginValidator ignores the port)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if same_origin(_header(scope, b"origin"), _header(scope, b"host")):
            return await self.app(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)
