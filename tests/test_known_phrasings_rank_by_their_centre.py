"""PHRASING_COMBINATION "centroid" (MiniLM's): an article ranks by the best of its own vector, its
nearest approved phrasing and the centre of its approved phrasings; "max" leaves the centre out."""

from __future__ import annotations

import numpy as np
import pytest
from django.test.utils import override_settings

from faq.embeddings import embed_query
from faq.models import KnownPhrasing
from faq.search import search
from tests.known_phrasings import help_centre

pytestmark = pytest.mark.django_db

# Between the three wordings: nearer their centre than to any one of them.
QUESTION = "parcel shipped when arrive"
WORDINGS = ["where is my parcel", "when will my parcel arrive", "has my package shipped yet"]


def _order_hit(combination: str):
    with override_settings(PHRASING_COMBINATION=combination):
        hits = search(QUESTION, ranking="vector").hits
    return next(hit for hit in hits if hit.document.slug == "where-is-my-order")


def _learned() -> tuple[float, float]:
    """(best phrasing's similarity, the centre's), computed here from the stored vectors."""
    query = np.asarray(embed_query(QUESTION))
    vectors = np.array([p.embedding for p in KnownPhrasing.objects.approved()], dtype=float)
    centre = vectors.mean(axis=0)
    return float((vectors @ query).max()), float(centre @ query / np.linalg.norm(centre))


def test_an_article_ranks_by_the_centre_of_its_phrasings_when_that_is_nearer():
    documents = help_centre()
    for text in WORDINGS:
        KnownPhrasing.objects.create(document=documents["where-is-my-order"], text=text)
    # A pending wording is not learned yet: it moves neither the best phrasing nor the centre.
    KnownPhrasing.objects.create(
        document=documents["where-is-my-order"], text="reset my password", status=KnownPhrasing.Status.PENDING
    )
    best, centre = _learned()
    assert centre > best

    hit = _order_hit("centroid")
    assert hit.score == pytest.approx(centre, abs=1e-5)
    # What the answer decision and the API read stays the best single match.
    assert hit.phrasing_similarity == pytest.approx(best, abs=1e-5)
    assert hit.similarity == pytest.approx(best, abs=1e-5)
    assert _order_hit("max").score == pytest.approx(best, abs=1e-5)


def test_one_phrasing_is_its_own_centre():
    documents = help_centre()
    KnownPhrasing.objects.create(document=documents["where-is-my-order"], text=WORDINGS[0])
    assert _order_hit("centroid").score == pytest.approx(_order_hit("max").score, abs=1e-6)
