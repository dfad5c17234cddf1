"""Whether the similarity cut-off was calibrated for the embedding model in use.

Cut-offs are per model (settings.SIMILARITY_CUTOFFS, measured with bench/retrieval.py): MiniLM's
0.45 means nothing for another model, whose similarities spread differently (e5's squeezed into
0.7-0.95, OpenAI's lower). A model without one still gets 0.45, so search keeps working, but
start-up and /readyz say so instead of letting it pass silently.
"""

from __future__ import annotations

from django.conf import settings
from django.core import checks

FALLBACK_CUTOFF = 0.45  # MiniLM's, used when nothing better is known
HOW_TO_CALIBRATE = (
    "run `python bench/retrieval.py DATASET_DIR` with this model on your own questions and articles "
    "and set SIMILARITY_CUTOFF from its cut-off sweep (see the README, Retrieval quality)"
)


def calibrated_cutoff(model: str) -> float | None:
    """The measured cut-off for `model`, or None when it has none."""
    return settings.SIMILARITY_CUTOFFS.get(model)


def uncalibrated_warning() -> str | None:
    """What to tell the operator when the cut-off in use was never calibrated for the model."""
    from faq.embeddings import current_model_name

    if settings.SIMILARITY_CUTOFF >= 0:
        return None  # set by the operator for this deployment: their calibration
    model = current_model_name()
    if calibrated_cutoff(model) is not None:
        return None
    return (
        f"SIMILARITY_CUTOFF is uncalibrated for the embedding model {model}: it falls back to MiniLM's "
        f"{FALLBACK_CUTOFF}, so answers and refusals may be wrong; {HOW_TO_CALIBRATE}."
    )


def cutoff_check() -> str:
    """/readyz's line about the cut-off: a warning, never a reason to be unready."""
    from faq.embeddings import current_model_name

    warning = uncalibrated_warning()
    if warning:
        return f"warning: {warning}"
    if settings.SIMILARITY_CUTOFF >= 0:
        return f"ok ({settings.SIMILARITY_CUTOFF}, set by SIMILARITY_CUTOFF)"
    model = current_model_name()
    return f"ok ({calibrated_cutoff(model)}, calibrated for {model})"


@checks.register(checks.Tags.database)
def check_cutoff_calibration(app_configs, databases=None, **kwargs) -> list[checks.CheckMessage]:
    """`serve` prints it at start-up (and `manage.py check --database default` lists it)."""
    if not databases:
        return []
    warning = uncalibrated_warning()
    return [checks.Warning(warning, id="faq.W002")] if warning else []
