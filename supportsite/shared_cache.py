"""A shared cache (Redis, when REDIS_URL is set) used as an optimisation or a soft limit must never
make requests wait on an outage: after a failure it is left alone for a few seconds, then tried again."""

from __future__ import annotations

import logging
import threading
from time import monotonic  # not patched by tests that freeze time.time

logger = logging.getLogger(__name__)

CACHE_RETRY_SECONDS = 5.0


class Breaker:
    """Tracks one use of the shared cache: `closed()` says whether to try it now; report each
    attempt with `failed(exc)` or `succeeded()`. The change each way is logged once."""

    def __init__(self, what: str, *, when_down: str, retry_seconds: float = CACHE_RETRY_SECONDS) -> None:
        self.what = what  # e.g. "rate limits"
        self.when_down = when_down  # what happens meanwhile, for the log
        self.retry_seconds = retry_seconds
        self._down_until = 0.0
        self._lock = threading.Lock()

    def closed(self) -> bool:
        return monotonic() >= self._down_until

    def failed(self, exc: BaseException) -> None:
        with self._lock:
            if self._down_until == 0.0:
                logger.warning(
                    "%s: the cache failed (%s: %s); %s, retrying every %.0f s",
                    self.what,
                    type(exc).__name__,
                    exc,
                    self.when_down,
                    self.retry_seconds,
                )
            self._down_until = monotonic() + self.retry_seconds

    def succeeded(self) -> None:
        if self._down_until:
            with self._lock:
                if self._down_until:
                    self._down_until = 0.0
                    logger.warning("%s: the cache answers again", self.what)
