"""Websocket routes (answers streamed to the search page are added here)."""

from __future__ import annotations

websocket_urlpatterns: list = []
