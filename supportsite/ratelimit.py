"""Rate limits on the AI endpoints: fixed-window counters in Django's cache, per user and per IP.

Every question (API, search page, websocket), suggestion and recommendation request embeds text
or calls the AI provider, so each caller gets a budget per window:

- signed-in users and API token holders: RATE_LIMIT_PER_USER for their user AND RATE_LIMIT_PER_IP
  for their address; anonymous callers: RATE_LIMIT_PER_IP only;
- staff are never limited (support agents ask on behalf of many customers).

Counters live in `caches["default"]`: with the default LocMemCache they are per process, with a
shared cache (Redis through REDIS_URL) they are global. Exceeding a limit raises RateLimited, which
the API answers as a JSON 429, the pages as templates/429.html and the websocket as an error frame.

A cache that fails (Redis down or stalled) never turns a question into a 500: the request is let
through unchecked (fail open), logged once per outage and counted in `rate_limit_errors_total`; for
the next few seconds the cache is not tried at all, so an outage does not add a timeout to every
request, and then it is tried again, so limits come back by themselves.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import re
import time
from dataclasses import dataclass

from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured

from supportsite.env import env_str
from supportsite.shared_cache import Breaker

# Counters are kept apart per kind of request, so that search-as-you-type suggestions (one per
# pause in typing) do not use up the budget for asking questions.
QUESTIONS = "questions"
SUGGESTIONS = "suggestions"
RECOMMENDATIONS = "recommendations"
PASSWORD_RESETS = "password_resets"  # noqa: S105 - a counter name, not a secret
KINDS = (QUESTIONS, SUGGESTIONS, RECOMMENDATIONS, PASSWORD_RESETS)  # every kind, for the metrics
# The setting that limits each kind per IP (others: RATE_LIMIT_PER_IP), and the kinds also counted
# per signed-in user (RATE_LIMIT_PER_USER). A reset email is asked for before signing in.
_PER_IP_SETTING = {PASSWORD_RESETS: "RATE_LIMIT_PASSWORD_RESETS"}
_PER_USER_KINDS = frozenset({QUESTIONS, SUGGESTIONS, RECOMMENDATIONS})

logger = logging.getLogger(__name__)
# After the cache fails, requests go unchecked for CACHE_RETRY_SECONDS before it is tried again.
_breaker = Breaker("rate limits", when_down="letting requests through unchecked")

_UNITS = {"sec": (1, "second"), "min": (60, "minute"), "hour": (3600, "hour")}
_RATE = re.compile(r"^\s*(\d{1,9})\s*/\s*(sec|min|hour)\s*$")


@dataclass(frozen=True)
class Rate:
    count: int  # requests allowed per window
    seconds: int  # window length
    unit: str  # "second", "minute" or "hour", for messages

    def __str__(self) -> str:
        return f"{self.count} per {self.unit}"


def parse_rate(value: str, *, name: str = "rate") -> Rate:
    """Text such as 30/min as a Rate; ImproperlyConfigured names `name` when it is not N/sec|min|hour."""
    match = _RATE.match(value)
    if match is None or int(match[1]) < 1:
        raise ImproperlyConfigured(
            f"{name} must look like 30/min (a whole number of at least 1, then /sec, /min or /hour); got {value!r}."
        )
    seconds, unit = _UNITS[match[2]]
    return Rate(int(match[1]), seconds, unit)


def env_rate(name: str, default: str) -> str:
    """The variable's value, checked at start-up; kept as text so settings overrides stay readable."""
    value = env_str(name, default)
    parse_rate(value, name=name)
    return value.strip()


class RateLimited(Exception):
    """A limit was exceeded: `message` is shown to the caller, `retry_after` is whole seconds, and
    `limit` names the limit ("30 per minute per user") for pages that word it their own way."""

    def __init__(self, retry_after: int, message: str, *, limit: str = "") -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.message = message
        self.limit = limit


def client_ip(remote_addr: str | None, forwarded_for: str | None, *, trusted_proxies: int) -> str:
    """The caller's address: REMOTE_ADDR, or behind `trusted_proxies` proxies the X-Forwarded-For
    entry that the outermost of them added (Nth from the right; anything left of it is the client's
    own say and could be forged)."""
    if trusted_proxies > 0 and forwarded_for:
        entries = [entry.strip() for entry in forwarded_for.split(",")]
        if len(entries) >= trusted_proxies:
            candidate = entries[-trusted_proxies]
            if _is_ip(candidate):
                return candidate
    return remote_addr if remote_addr and _is_ip(remote_addr) else "unknown"


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def request_ip(request) -> str:
    from django.conf import settings

    return client_ip(
        request.META.get("REMOTE_ADDR"),
        request.META.get("HTTP_X_FORWARDED_FOR"),
        trusted_proxies=settings.TRUSTED_PROXY_COUNT,
    )


def scope_ip(scope: dict) -> str:
    """request_ip for a websocket's ASGI scope."""
    from django.conf import settings

    client = scope.get("client") or (None,)
    forwarded = b",".join(value for key, value in scope.get("headers", ()) if key.lower() == b"x-forwarded-for")
    return client_ip(
        client[0],
        forwarded.decode("latin-1") or None,
        trusted_proxies=settings.TRUSTED_PROXY_COUNT,
    )


def check(*, user, ip: str, kind: str = QUESTIONS) -> None:
    """Count one request of `kind` from `user` (None or anonymous: by IP only) at `ip`; raises
    RateLimited when it goes over a limit. Blocking (cache I/O): call it off the event loop."""
    from django.conf import settings

    if not settings.RATE_LIMITS_ENABLED or getattr(user, "is_staff", False):
        return
    ip_setting = _PER_IP_SETTING.get(kind, "RATE_LIMIT_PER_IP")
    limits = [("ip", "IP address", ip, parse_rate(getattr(settings, ip_setting), name=ip_setting))]
    if getattr(user, "is_authenticated", False) and kind in _PER_USER_KINDS:
        limits.append(
            ("user", "user", str(user.pk), parse_rate(settings.RATE_LIMIT_PER_USER, name="RATE_LIMIT_PER_USER"))
        )
    from supportsite import metrics

    now = time.time()
    if not _breaker.closed():
        metrics.RATE_LIMIT_ERRORS.labels(kind=kind).inc()
        return
    exceeded: list[tuple[int, str]] = []
    try:
        for scope, label, who, rate in limits:
            start = int(now // rate.seconds) * rate.seconds
            if _hit(f"ratelimit:{kind}:{scope}:{who}:{rate.seconds}:{start}", rate.seconds) > rate.count:
                retry_after = max(1, math.ceil(start + rate.seconds - now))
                exceeded.append((retry_after, f"{rate} per {label}"))
    except Exception as exc:  # redis errors, timeouts, a full memcached: whatever the backend raises
        metrics.RATE_LIMIT_ERRORS.labels(kind=kind).inc()
        _breaker.failed(exc)
        return
    _breaker.succeeded()
    if exceeded:
        metrics.RATE_LIMITED.labels(kind=kind).inc()
        retry_after, limit = max(exceeded)  # the caller must wait for the later window
        raise RateLimited(
            retry_after, f"too many requests: the limit is {limit}; retry in {retry_after} s", limit=limit
        )


async def acheck(*, user, ip: str, kind: str = QUESTIONS) -> None:
    """check() for async code, on the shared thread pool (a shared cache is network I/O)."""
    from supportsite.concurrency import in_thread

    await in_thread(check)(user=user, ip=ip, kind=kind)


def _hit(key: str, window: int) -> int:
    """Add one to this window's counter and return it. add() creates it only if missing and incr()
    is atomic in Redis, Memcached and locmem, so concurrent requests never lose a count."""
    cache = caches["default"]
    # Outlives its window by a little, so incr() does not find it expired at the boundary.
    cache.add(key, 0, timeout=window + 5)
    try:
        return cache.incr(key)
    except ValueError:  # evicted between add() and incr(): start again at one
        cache.add(key, 1, timeout=window + 5)
        return 1


def too_many_page(request, exc: RateLimited):
    """The 429 page (JSON for scripts) with Retry-After."""
    from django.shortcuts import render

    from supportsite.errors import json_error, wants_json

    if wants_json(request):
        response = json_error(request, 429, exc.message)
    else:
        response = render(request, "429.html", {"limit": exc.limit, "retry_after": exc.retry_after}, status=429)
    return with_retry_after(response, exc)


def with_retry_after(response, exc: RateLimited):
    response["Retry-After"] = str(exc.retry_after)
    # Never cached (the suggestions view marks its answers cacheable for a minute).
    response["Cache-Control"] = "no-store"
    return response
