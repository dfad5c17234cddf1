from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from faq.models import FaqDocument
from faq.vector_schema import check_embedding_configuration, column_dimensions, embedding_problems

pytestmark = pytest.mark.django_db


def test_articles_embedded_by_another_model_are_reported_with_the_fixing_command():
    FaqDocument.objects.create(question="How do I reset my password?", answer="Use the link.")
    FaqDocument.objects.update(embedding_model="old-model-v1")
    (problem,) = embedding_problems()
    assert "1 article(s) were embedded with old-model-v1" in problem
    assert "python manage.py reembed --all" in problem
    (warning,) = check_embedding_configuration(None, databases=["default"])
    assert warning.id == "faq.W001"


def test_a_dimension_change_is_reported_and_reembed_all_resizes_the_column(openai_settings, settings):
    FaqDocument.objects.create(question="How do I reset my password?", answer="Use the link.")
    settings.EMBEDDING_BACKEND = "openai"
    settings.OPENAI_EMBEDDING_MODEL = "small-model"
    settings.EMBEDDING_DIMENSIONS = 64
    problems = " ".join(embedding_problems())
    assert "holds 384-dimension vectors but EMBEDDING_DIMENSIONS is 64" in problems
    assert "python manage.py reembed --all" in problems

    out = StringIO()
    call_command("reembed", "--all", stdout=out, stderr=StringIO())  # with its progress bar
    assert "Resized faq_documents.embedding from 384 to 64 dimensions." in out.getvalue()
    assert "Embedded 1 article(s); 0 failed." in out.getvalue()
    assert column_dimensions() == 64
    assert embedding_problems() == []
    doc = FaqDocument.objects.get()
    assert len(doc.embedding) == 64 and doc.embedding_model == "small-model"
    # The test's transaction rolls the DDL back, leaving vector(384) for the other tests.
