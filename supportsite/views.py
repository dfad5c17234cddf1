"""Site-wide views: liveness and readiness probes."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET


@require_GET
async def healthz(request: HttpRequest) -> JsonResponse:
    """The process is alive and serving requests (no dependencies checked)."""
    return JsonResponse({"status": "ok"})
