"""Insights settings: read from the environment with supportsite.env's typed helpers (a bad value
stops start-up naming the variable); a project may also set them in settings.py, which wins."""

from __future__ import annotations

from django.conf import settings

from supportsite.env import env_float, env_int

_DEFAULTS = {
    # Answers whose best article was less than this above the similarity cut-off are "low
    # confidence" and join the content-gap queue (0.45 cut-off + 0.05: answers below 0.50).
    "INSIGHTS_LOW_CONFIDENCE_MARGIN": env_float("INSIGHTS_LOW_CONFIDENCE_MARGIN", 0.05, minimum=0.0, maximum=1.0),
    # Days of questions `cluster_questions` reads.
    "INSIGHTS_WINDOW_DAYS": env_int("INSIGHTS_WINDOW_DAYS", 90, minimum=1, maximum=3650),
    # Cosine similarity a question needs to a cluster's centre to join it. On the demo's labelled
    # questions (MiniLM) 0.65 keeps 97% of each cluster on one topic; 0.60 only 89%.
    "INSIGHTS_CLUSTER_SIMILARITY": env_float("INSIGHTS_CLUSTER_SIMILARITY", 0.65, minimum=0.1, maximum=1.0),
    # A signed-in customer's search "opened nothing" when no article page followed within this many minutes.
    "INSIGHTS_OPENED_WITHIN_MINUTES": env_int("INSIGHTS_OPENED_WITHIN_MINUTES", 30, minimum=1, maximum=24 * 60),
    # Article health flags published articles not given as an answer for this many days.
    "INSIGHTS_STALE_DAYS": env_int("INSIGHTS_STALE_DAYS", 90, minimum=1, maximum=3650),
}


def setting(name: str):
    """The value in settings.py when set there (tests override it so), else the environment's."""
    return getattr(settings, name, _DEFAULTS[name])
