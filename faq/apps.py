from __future__ import annotations

from django.apps import AppConfig


class FaqConfig(AppConfig):
    name = "faq"
    verbose_name = "Help centre"

    def ready(self) -> None:
        # Registers the check that compares the stored vectors with the configured model.
        from faq import vector_schema  # noqa: F401
