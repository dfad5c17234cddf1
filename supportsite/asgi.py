"""ASGI entry point for Daphne: HTTP through Django, websockets through Channels."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportsite.settings")
# Django must be set up before anything imports models (auth and the websocket routes do).
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from faq import api as faq_api  # noqa: E402
from supportsite import daphne_limits, twisted_fast_paths  # noqa: E402
from supportsite.asgi_guards import SameOriginWebsocket  # noqa: E402
from supportsite.express import ExpressLane, Route  # noqa: E402
from supportsite.routing import websocket_urlpatterns  # noqa: E402

# A body over DATA_UPLOAD_MAX_MEMORY_SIZE is a 413 before Daphne reads it.
daphne_limits.install()
twisted_fast_paths.install()

application = ProtocolTypeRouter(
    {
        # Anonymous questions to the search API take the express lane; everything else is Django's.
        "http": ExpressLane(
            django_asgi_app,
            [Route("/api/ai_faq_search", faq_api.express_payload, faq_api.express_search, faq_api.express_ahead)],
        ),
        # Wrapped once for every route: this very origin only (host and port), and the session's
        # user is known to the consumer.
        "websocket": SameOriginWebsocket(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
