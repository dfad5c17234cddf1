"""`reembed` embeds known phrasings too: --missing those without a current vector, --all every one."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from faq.models import KnownPhrasing
from tests.known_phrasings import help_centre

pytestmark = pytest.mark.django_db


def test_reembed_missing_embeds_a_phrasing_saved_while_the_model_was_down():
    documents = help_centre()
    phrasing = KnownPhrasing.objects.create(document=documents["where-is-my-order"], text="where is my parcel")
    KnownPhrasing.objects.filter(pk=phrasing.pk).update(embedding=None, embedding_model="", embedded_hash="")
    call_command("reembed", "--missing", "--no-progress")
    phrasing.refresh_from_db()
    assert phrasing.embedding is not None and phrasing.embedding_model and phrasing.embedded_hash


def test_reembed_all_replaces_a_vector_of_another_model():
    documents = help_centre()
    phrasing = KnownPhrasing.objects.create(document=documents["where-is-my-order"], text="where is my parcel")
    KnownPhrasing.objects.filter(pk=phrasing.pk).update(embedding_model="some-old-model")
    call_command("reembed", "--all", "--no-progress")
    phrasing.refresh_from_db()
    assert phrasing.embedding_model != "some-old-model"
