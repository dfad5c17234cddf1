from __future__ import annotations

from django.apps import AppConfig


class InsightsConfig(AppConfig):
    name = "insights"
    verbose_name = "Staff insights"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Importing conf reads the INSIGHTS_* variables now, so a bad value stops start-up.
        from insights import conf, signals  # noqa: F401
