"""What /readyz checks beyond the database: each app registers its own checks here (in its
AppConfig.ready), so the project package never imports the apps.

A check returns its state as text: "ok ...", "degraded ..." or "warning ..." keeps the process
ready; anything else (say "missing: ..." or "not loaded: ...") makes /readyz answer 503.
"""

from __future__ import annotations

from collections.abc import Callable

Check = Callable[[], str]
# name -> check, in the order they were registered (the order /readyz lists them in).
_CHECKS: dict[str, Check] = {}
# Gauges an app refreshes before /metrics is read (say, how many articles wait for a vector).
_GAUGE_REFRESHERS: list[Callable[[], None]] = []


def register(name: str, check: Check) -> None:
    _CHECKS[name] = check


def checks() -> dict[str, Check]:
    return dict(_CHECKS)


def refresh_gauge(refresh: Callable[[], None]) -> None:
    if refresh not in _GAUGE_REFRESHERS:
        _GAUGE_REFRESHERS.append(refresh)


def gauge_refreshers() -> list[Callable[[], None]]:
    return list(_GAUGE_REFRESHERS)
