"""Site-wide views: liveness and readiness probes, and the guarded Prometheus endpoint."""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
import os
import struct

from django.conf import settings
from django.db import connection, connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from supportsite import db_router, metrics, readiness
from supportsite.concurrency import in_thread
from supportsite.errors import json_error

logger = logging.getLogger(__name__)


@require_GET
@never_cache
async def healthz(request: HttpRequest) -> JsonResponse:
    """The process is alive and serving requests (no dependencies checked)."""
    return JsonResponse({"status": "ok"})


@in_thread
def _readiness() -> dict[str, str]:
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
        database_up = True
    except Exception as exc:  # any failure to reach the database means "not ready"
        metrics.count_connection_error(exc)
        checks["database"] = f"unreachable: {type(exc).__name__}"
        database_up = False
    for alias in settings.DATABASE_REPLICAS:
        # A replica that is down costs the process nothing but load on the primary, which then
        # serves its reads: still ready, and said so.
        if db_router.health.is_down(alias):
            checks[f"replica:{alias}"] = "degraded: down, its reads go to the primary"
            continue
        try:
            with connections[alias].cursor() as cursor:
                cursor.execute("SELECT 1")
            checks[f"replica:{alias}"] = "ok"
        except Exception as exc:
            metrics.count_connection_error(exc)
            db_router.health.mark_down(alias, exc)
            checks[f"replica:{alias}"] = f"degraded: unreachable ({type(exc).__name__}), its reads go to the primary"
    # The apps' own checks (supportsite/readiness.py); with the database down, those that need it
    # cannot say anything.
    for name, check in readiness.checks().items():
        try:
            checks[name] = check()
        except Exception as exc:
            if database_up:
                logger.warning("readiness check %s failed: %s", name, exc)
            checks[name] = "unknown" if not database_up else f"failed: {type(exc).__name__}"
    return checks


@require_GET
@never_cache
async def readyz(request: HttpRequest) -> JsonResponse:
    """Ready for traffic: database reachable, vector extension present, embedding backend loaded.
    A read replica that is down is reported as degraded: its reads go to the primary meanwhile."""
    checks = await _readiness()
    ready = all(value.startswith(("ok", "degraded", "warning")) for value in checks.values())
    return JsonResponse({"status": "ready" if ready else "not ready", "checks": checks}, status=200 if ready else 503)


def _may_read_metrics(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(header.encode(), f"Bearer {token}".encode()):
        return True
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in network for network in settings.METRICS_ALLOWED_NETWORKS)


@in_thread
def _refresh_gauges() -> None:
    metrics.update_pool_gauges()
    for refresh in readiness.gauge_refreshers():
        refresh()


@require_GET
@never_cache
async def prometheus_metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text format; several processes add up through PROMETHEUS_MULTIPROC_DIR."""
    if not _may_read_metrics(request):
        return json_error(request, 403, "metrics are only served to METRICS_ALLOWED_NETWORKS or with METRICS_TOKEN")
    try:
        await _refresh_gauges()
    except Exception as exc:  # the database may be down: serve what we have, and count it
        metrics.count_connection_error(exc)
    import prometheus_client

    for attempt in range(3):
        try:
            text = _exposition()
        except (OSError, ValueError, RuntimeError, struct.error) as exc:
            # Multiprocess mode: a worker's files were removed (it died) or created (its
            # replacement) while being read. The next read sees a settled directory.
            logger.info("metrics: the multiprocess files changed while read (%s); reading again", exc)
            await asyncio.sleep(0.05 * (attempt + 1))
        else:
            return HttpResponse(text, content_type=prometheus_client.CONTENT_TYPE_LATEST)
    response = json_error(request, 503, "the metrics files are changing (a worker restarting); try again")
    response["Retry-After"] = "1"
    return response


def _exposition() -> bytes:
    import prometheus_client
    from prometheus_client import multiprocess

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = prometheus_client.CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = prometheus_client.REGISTRY
    return prometheus_client.generate_latest(registry)
