from __future__ import annotations

from django.apps import AppConfig


class FaqConfig(AppConfig):
    name = "faq"
    verbose_name = "Help centre"

    def ready(self) -> None:
        # Registers the check that compares the stored vectors with the configured model.
        # Registers the check that warns of a similarity cut-off never calibrated for the model.
        from faq import calibration, readiness, vector_schema  # noqa: F401
        from supportsite import readiness as site_readiness

        site_readiness.register("vector_extension", readiness.vector_extension)
        site_readiness.register("embedding_backend", readiness.embedding_backend)
        site_readiness.register("similarity_cutoff", calibration.cutoff_check)
        site_readiness.refresh_gauge(readiness.count_not_embedded)
