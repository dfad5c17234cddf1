#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

from __future__ import annotations

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportsite.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    from supportsite.embedded_db import EmbeddedDatabaseError

    try:
        execute_from_command_line(sys.argv)
    except (ImproperlyConfigured, EmbeddedDatabaseError) as exc:
        # A configuration mistake is the operator's to fix: say what, not where in our code.
        sys.stderr.write(f"supportsite: {exc}\n")
        sys.exit(2)


if __name__ == "__main__":
    main()
