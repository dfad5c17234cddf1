"""Websocket routes: answers streamed to the search page."""

from __future__ import annotations

from channels.auth import AuthMiddlewareStack
from channels.security.websocket import AllowedHostsOriginValidator
from django.urls import path

from faq.consumers import AnswerConsumer

websocket_urlpatterns: list = [
    # The session's user decides which articles an answer may use. Browsers send cookies with
    # cross-site websocket handshakes, so only pages served from ALLOWED_HOSTS may connect.
    path("ws/answer/", AllowedHostsOriginValidator(AuthMiddlewareStack(AnswerConsumer.as_asgi()))),
]
