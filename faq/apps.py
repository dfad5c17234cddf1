from __future__ import annotations

from django.apps import AppConfig


class FaqConfig(AppConfig):
    name = "faq"
    verbose_name = "Help centre"
