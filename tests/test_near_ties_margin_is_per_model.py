"""The "nearly tied" margin is per model like the cut-off (settings.NEAR_TIE_MARGINS): MiniLM's
measured one applies, a clear winner is still answered, and a model without one never ties."""

from __future__ import annotations

import pytest

from faq.near_ties import near_tie_margin, tied_choices
from faq.search import search
from tests.conftest import add_articles

pytestmark = pytest.mark.django_db


def test_minilm_uses_its_measured_margin_and_a_clear_winner_is_answered(settings):
    settings.NEAR_TIE_MARGIN = -1.0
    assert near_tie_margin() == settings.NEAR_TIE_MARGINS["all-MiniLM-L6-v2-int8"] > 0
    add_articles("reset-password", "track-order")
    result = search("how do I track my order")
    assert result.answered and tied_choices(result) == []


def test_a_model_without_a_measured_margin_never_calls_two_articles_tied(settings):
    settings.NEAR_TIE_MARGIN, settings.NEAR_TIE_MARGINS = -1.0, {}
    add_articles("reset-password", "track-order")
    assert near_tie_margin() == 0.0
    assert tied_choices(search("how do I track my order")) == []


def test_the_operator_may_set_the_margin_for_their_deployment(settings):
    settings.NEAR_TIE_MARGIN = 1.0
    add_articles("reset-password", "track-order")
    assert [hit.document.slug for hit in tied_choices(search("how do I track my order"))] == [
        "track-order",
        "reset-password",
    ]
