from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from faq.answers import ask
from faq.models import FaqDocument, UserResponse
from faq.vector_schema import check_embedding_configuration, column_dimensions, embedding_problems
from insights.models import GapCluster

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
    asked_before = ask("I forgot my password")  # a history row with a 384-dimension vector
    assert len(UserResponse.objects.get(pk=asked_before.response_id).query_embedding) == 384
    ask("can I pay with bitcoin")  # an abstained question: a content gap
    call_command("cluster_questions", verbosity=0)
    assert GapCluster.objects.exists()
    settings.EMBEDDING_BACKEND = "openai"
    settings.OPENAI_EMBEDDING_MODEL = "small-model"
    settings.EMBEDDING_DIMENSIONS = 64
    problems = " ".join(embedding_problems())
    assert "holds 384-dimension vectors but EMBEDDING_DIMENSIONS is 64" in problems
    assert "python manage.py reembed --all" in problems

    out = StringIO()
    call_command("reembed", "--all", stdout=out, stderr=StringIO())  # with its progress bar
    assert "Resized faq_documents.embedding from 384 to 64 dimensions (" in out.getvalue()
    assert "Embedded 1 article(s); 0 failed." in out.getvalue()
    assert column_dimensions() == 64
    assert embedding_problems() == []
    doc = FaqDocument.objects.get()
    assert len(doc.embedding) == 64 and doc.embedding_model == "small-model"
    # Every vector column follows: stored questions are embedded again, questions can be stored,
    # the content-gap queue (vectors of the old model) is emptied for the next rebuild.
    assert "Embedded 2 stored question(s); 0 failed." in out.getvalue()
    assert "resized user_responses.query_embedding" in out.getvalue()
    assert len(UserResponse.objects.get(pk=asked_before.response_id).query_embedding) == 64
    assert not GapCluster.objects.exists()
    asked_after = ask("I forgot my password")
    assert len(UserResponse.objects.get(pk=asked_after.response_id).query_embedding) == 64
    call_command("cluster_questions", verbosity=0)
    assert GapCluster.objects.exists()
    # The test's transaction rolls the DDL back, leaving vector(384) for the other tests.
