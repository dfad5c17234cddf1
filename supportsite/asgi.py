"""ASGI entry point for Daphne: HTTP through Django, websockets through Channels."""

from __future__ import annotations

import os

from channels.routing import ProtocolTypeRouter, URLRouter
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportsite.settings")
# Django must be set up before anything imports models (the websocket routes do).
django_asgi_app = get_asgi_application()

from supportsite.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": URLRouter(websocket_urlpatterns),
    }
)
