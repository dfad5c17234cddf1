"""Shared set-up for benchmarks: Django on a fresh scratch database (the test-database machinery)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportsite.settings")
    os.environ.setdefault("SECRET_KEY", "benchmark-only-key")
    # Benchmarks measure the work, not the per-IP rate limit all their clients would share.
    os.environ.setdefault("RATE_LIMITS_ENABLED", "false")
    import django

    django.setup()


@contextmanager
def fresh_database() -> Iterator[None]:
    """Create a scratch database, migrate it, and drop it afterwards (the test-suite machinery).

    Its name is unique to this process, so a benchmark never touches the test suite's
    test_<db>, even while the suite runs it as a smoke test on the same server."""
    from django.db import connections
    from django.test.utils import setup_databases, teardown_databases

    connections["default"].settings_dict["TEST"]["NAME"] = f"bench_{os.getpid()}"

    config = setup_databases(verbosity=0, interactive=False, aliases={"default"})
    try:
        yield
    finally:
        teardown_databases(config, verbosity=0)


def peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
