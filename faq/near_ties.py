"""Two articles nearly tied: ask "Is it one of these?" instead of committing to the first.

When the best article's score leads the second's by less than the margin, the ranking cannot tell
them apart: the right article is then second almost as often as it is first (bench/near_ties.py
measures this per model), and a committed answer would be wrong for those customers. The margin is
per model (settings.NEAR_TIE_MARGINS), like the similarity cut-off; a model without a measured one
never calls two articles tied (the page then answers as before).
"""

from __future__ import annotations

import math

from django.conf import settings

from faq.search import Hit, SearchResult

CHOICES = 2  # how many articles "Is it one of these?" offers when the best ones are tied


def near_tie_margin() -> float:
    if settings.NEAR_TIE_MARGIN >= 0:
        return settings.NEAR_TIE_MARGIN
    from faq.embeddings import current_model_name

    return settings.NEAR_TIE_MARGINS.get(current_model_name(), 0.0)


def top_margin(hits: list[Hit]) -> float:
    """How far the best hit's score leads the second's (the ranking's own sort key)."""
    return hits[0].score - hits[1].score if len(hits) >= CHOICES else math.inf


def tied_choices(result: SearchResult) -> list[Hit]:
    """The articles to offer as "Is it one of these?" for an answered search whose best two are
    nearly tied; [] when the first one stands out (or the search abstained: its list is the offer)."""
    if not result.answered or result.degraded or top_margin(result.hits) >= near_tie_margin():
        return []
    return result.hits[:CHOICES]
