"""Websocket routes: answers streamed to the search page."""

from __future__ import annotations

from django.urls import path

from faq.consumers import AnswerConsumer

# The origin check and the session's user are added once, around all routes (supportsite/asgi.py):
# the user decides which articles an answer may use, and browsers send cookies with cross-site
# websocket handshakes.
websocket_urlpatterns: list = [
    path("ws/answer/", AnswerConsumer.as_asgi()),
]
