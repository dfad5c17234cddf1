"""Limits on guessing passwords and on creating accounts, for the customer and the admin sign-in.

Failed sign-ins are counted per account (the username typed, whoever types it) and per address,
in the same cache as the other rate limits (shared through Redis with REDIS_URL). While either
count is at its limit, sign-in attempts get a 429 page with Retry-After, before any password is
checked. The windows are short and fixed, so a stranger typing wrong passwords for a customer's
account holds it for at most RATE_LIMIT_SIGN_IN_FAILURES_PER_ACCOUNT's window (a minute by
default), and from one address they run into the per-address limit soon after. Sign-ups are
limited per address. A cache outage lets attempts through, as for every other limit.

Why the project's own limiter rather than django-axes: the counters sit beside the existing
ones (same cache, same fail-open breaker behaviour, same 429 page and Retry-After), a failed
attempt costs no database write, and no new middleware runs on every request.
"""

from __future__ import annotations

import functools
import logging
import math
import time

from django.conf import settings
from django.core.cache import caches
from django.shortcuts import render

from supportsite.ratelimit import RateLimited, parse_rate, request_ip, with_retry_after

logger = logging.getLogger(__name__)


def _limits(username: str, ip: str) -> list[tuple[str, str, str]]:
    """(cache key stem, setting, what it limits) for one attempt."""
    return [
        (f"signin:account:{username.casefold()[:150]}", "RATE_LIMIT_SIGN_IN_FAILURES_PER_ACCOUNT", "this account"),
        (f"signin:ip:{ip}", "RATE_LIMIT_SIGN_IN_FAILURES_PER_IP", "your address"),
    ]


def _window(setting: str, now: float) -> tuple[int, int, float]:
    rate = parse_rate(getattr(settings, setting), name=setting)
    start = int(now // rate.seconds) * rate.seconds
    return rate.count, rate.seconds, start + rate.seconds - now


def blocked(*, username: str, ip: str) -> None:
    """Raise RateLimited if this account or address has used up its failed sign-ins."""
    if not settings.RATE_LIMITS_ENABLED:
        return
    now = time.time()
    try:
        for stem, setting, what in _limits(username, ip):
            count, seconds, left = _window(setting, now)
            if (caches["default"].get(f"{stem}:{seconds}:{int(now // seconds)}") or 0) >= count:
                retry_after = max(1, math.ceil(left))
                raise RateLimited(
                    retry_after,
                    f"There have been too many failed sign-ins for {what} (the limit is {count} in "
                    f"{_span(seconds)}). Please try again in {_seconds(retry_after)}, or reset your password.",
                    limit=f"{count} failed sign-ins per {what}",
                )
    except RateLimited:
        raise
    except Exception as exc:  # the cache is down: fail open, as the other limits do
        logger.warning("sign-in limits unchecked: %s", exc)


def count_failure(*, username: str, ip: str) -> None:
    if not settings.RATE_LIMITS_ENABLED:
        return
    now = time.time()
    cache = caches["default"]
    try:
        for stem, setting, _ in _limits(username, ip):
            _, seconds, _ = _window(setting, now)
            key = f"{stem}:{seconds}:{int(now // seconds)}"
            # add() then incr(): atomic in Redis and locmem, so concurrent failures all count.
            cache.add(key, 0, timeout=seconds + 5)
            cache.incr(key)
    except Exception as exc:
        logger.warning("a failed sign-in was not counted: %s", exc)


def _span(seconds: int) -> str:
    return {1: "a second", 60: "a minute", 3600: "an hour"}.get(seconds, f"{seconds} seconds")


def _seconds(count: int) -> str:
    return f"{count} second{'s' * (count != 1)}"


def count_failed_sign_in(sender, credentials, request=None, **kwargs) -> None:
    """user_login_failed receiver: Django sends it for every failed authenticate(), the admin's
    sign-in included (supportsite/apps.py connects it)."""
    if request is not None:
        count_failure(username=str(credentials.get("username", "")), ip=request_ip(request))


def _refused(request, exc: RateLimited, problem: str):
    response = render(
        request, "429.html", {"limit": exc.limit, "retry_after": exc.retry_after, "problem": problem}, status=429
    )
    return with_retry_after(response, exc)


def limit_sign_ins(view):
    """Wrap a sign-in view: a POST for an account or from an address over its limit is a 429."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method == "POST":
            try:
                blocked(username=request.POST.get("username", ""), ip=request_ip(request))
            except RateLimited as exc:
                return _refused(request, exc, exc.message)
        return view(request, *args, **kwargs)

    return wrapper


def limit_signups(view):
    """Wrap the sign-up view: RATE_LIMIT_SIGNUPS account-creating POSTs per address."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method == "POST" and settings.RATE_LIMITS_ENABLED:
            now = time.time()
            count, seconds, left = _window("RATE_LIMIT_SIGNUPS", now)
            key = f"signup:ip:{request_ip(request)}:{seconds}:{int(now // seconds)}"
            try:
                cache = caches["default"]
                cache.add(key, 0, timeout=seconds + 5)
                over = cache.incr(key) > count
            except Exception as exc:
                logger.warning("sign-up limit unchecked: %s", exc)
                over = False
            if over:
                retry_after = max(1, math.ceil(left))
                exc = RateLimited(retry_after, "too many sign-ups", limit=f"{count} sign-ups per address")
                problem = (
                    f"Too many sign-ups have come from your address (the limit is {count} in "
                    f"{_span(seconds)}). Please try again in {_seconds(retry_after)}."
                )
                return _refused(request, exc, problem)
        return view(request, *args, **kwargs)

    return wrapper
