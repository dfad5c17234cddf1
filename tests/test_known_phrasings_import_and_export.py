"""`phrasings` in JSON Lines, JSON and CSV (one per line of the cell): imported as approved known
phrasings (upserted), exported back losslessly; a bad list is reported with its line and skipped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.management import call_command

from faq.models import FaqDocument, KnownPhrasing

pytestmark = pytest.mark.django_db

RECORD = {
    "id": "where-is-my-order",
    "question": "Where is my order?",
    "answer": "Track it from **Orders**.",
    "phrasings": ["my parcel has not turned up", "is the courier lost"],
}


def _phrasings() -> list[str]:
    return sorted(KnownPhrasing.objects.values_list("text", flat=True))


def test_jsonl_phrasings_become_approved_import_phrasings_and_are_upserted(tmp_path: Path):
    path = tmp_path / "faqs.jsonl"
    path.write_text(json.dumps(RECORD) + "\n")
    call_command("import_faqs", str(path))
    call_command("import_faqs", str(path))  # again: nothing is duplicated
    rows = KnownPhrasing.objects.all()
    assert sorted(r.text for r in rows) == sorted(RECORD["phrasings"])
    assert {(r.source, r.status, r.embedding is not None) for r in rows} == {("import", "approved", True)}


@pytest.mark.parametrize("fmt", ["jsonl", "json", "csv"])
def test_export_then_import_keeps_every_phrasing(tmp_path: Path, fmt: str):
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps(RECORD) + "\n")
    call_command("import_faqs", str(source))
    exported = tmp_path / f"out.{fmt}"
    call_command("export_faqs", str(exported))
    FaqDocument.objects.all().delete()
    assert not KnownPhrasing.objects.exists()
    call_command("import_faqs", str(exported))
    assert _phrasings() == sorted(RECORD["phrasings"])


def test_a_csv_phrasings_cell_holds_one_phrasing_per_line(tmp_path: Path):
    path = tmp_path / "faqs.csv"
    path.write_text(
        'id,question,answer,phrasings\nreturns,How do I return it?,Within 30 days.,"send it back\nrefund please"\n'
    )
    call_command("import_faqs", str(path))
    assert _phrasings() == ["refund please", "send it back"]


def test_a_phrasings_value_that_is_not_a_list_of_text_is_reported_and_skipped(tmp_path: Path, capsys):
    path = tmp_path / "faqs.jsonl"
    bad = {**RECORD, "id": "bad", "phrasings": [1, 2]}
    path.write_text(json.dumps(bad) + "\n" + json.dumps(RECORD) + "\n")
    call_command("import_faqs", str(path))
    out = capsys.readouterr()
    assert "line 1" in out.out + out.err and "'phrasings' entry 1 must be text" in out.out + out.err
    assert list(FaqDocument.objects.values_list("slug", flat=True)) == ["where-is-my-order"]
