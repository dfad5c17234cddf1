"""Django's security checks (`manage.py check --deploy`), made to see the middleware it looks for.

The project runs Django's own middleware wrapped under other names (supportsite/middleware.py).
Django's security checks look for the original dotted paths in MIDDLEWARE, so they reported the
security, CSRF and clickjacking middleware missing (W001-W003, false) and, believing the security
middleware absent, skipped every check of its settings (HSTS W004, the HTTPS redirect W008, ...).
Each of those checks now runs with the wrapped classes named as what they wrap."""

from __future__ import annotations

import functools

from django.conf import settings
from django.core.checks import registry
from django.test.utils import override_settings
from django.utils.module_loading import import_string


def real_name(path: str) -> str:
    """The dotted path of the Django middleware a project class wraps, or `path` itself."""
    wrapped = getattr(import_string(path), "wraps", None)
    return f"{wrapped.__module__}.{wrapped.__qualname__}" if wrapped is not None else path


def _seeing_real_names(check):
    @functools.wraps(check)
    def run(app_configs=None, **kwargs):
        with override_settings(MIDDLEWARE=[real_name(path) for path in settings.MIDDLEWARE]):
            return check(app_configs=app_configs, **kwargs)

    return run


def install() -> None:
    """Swap each of Django's registered security checks for the same check seeing real names."""
    for checks in (registry.registry.registered_checks, registry.registry.deployment_checks):
        for check in list(checks):
            if check.__module__.startswith("django.core.checks.security."):
                checks.discard(check)
                checks.add(_seeing_real_names(check))
