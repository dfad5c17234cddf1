from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from faq.models import Category, FaqDocument

pytestmark = pytest.mark.django_db

FIELDS = ("slug", "question", "answer", "category__name", "status", "visibility")


def _snapshot() -> list[tuple]:
    return list(FaqDocument.objects.order_by("slug").values_list(*FIELDS))


@pytest.fixture
def articles():
    billing = Category.objects.create(name='Billing, payments & "VAT"')
    FaqDocument.objects.create(
        question="How do I pay?", answer="Cards, PayPal.\n\n| a | b |\n|---|---|", category=billing
    )
    FaqDocument.objects.create(
        question="Internal: refund limits",
        answer='Staff only — émojis 🎉, commas, "quotes"\nnew lines',
        status=FaqDocument.Status.DRAFT,
        visibility=FaqDocument.Visibility.STAFF,
    )
    FaqDocument.objects.create(
        question="Member prices?", answer="Sign in.", visibility=FaqDocument.Visibility.SIGNED_IN
    )


@pytest.mark.parametrize("suffix", ["jsonl", "json", "csv"])
def test_export_then_import_into_an_empty_help_centre_restores_every_field(articles, tmp_path, suffix):
    before = _snapshot()
    path = tmp_path / f"export.{suffix}"
    call_command("export_faqs", str(path), stderr=StringIO())
    FaqDocument.objects.all().delete()
    Category.objects.all().delete()

    out = StringIO()
    call_command("import_faqs", str(path), "--no-progress", stdout=out, stderr=StringIO())

    assert "3 created" in out.getvalue()
    assert _snapshot() == before
    assert all(doc.is_embedded for doc in FaqDocument.objects.all())
    again = StringIO()
    call_command("import_faqs", str(path), "--no-progress", stdout=again, stderr=StringIO())
    assert "3 unchanged" in again.getvalue()
