from __future__ import annotations

import json
import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from faq.models import Category, FaqDocument

pytestmark = pytest.mark.django_db


def _import(path, *args) -> tuple[str, str]:
    from io import StringIO

    out, err = StringIO(), StringIO()
    call_command("import_faqs", str(path), "--no-progress", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


GOOD = {
    "id": "reset-password",
    "question": "How do I reset my password?",
    "answer": "Use **Forgot password**.",
    "category": "Accounts",
}


def test_a_jsonl_file_with_every_kind_of_bad_record_keeps_only_the_good_ones(tmp_path):
    lines = [
        json.dumps(GOOD).encode(),  # 1 good
        json.dumps({"answer": "no question here"}).encode(),  # 2 no question
        b'{"question": "broken", "answer": ',  # 3 broken JSON
        json.dumps({"question": 42, "answer": "x"}).encode(),  # 4 wrong type
        json.dumps({"question": "q" * 501, "answer": "x"}).encode(),  # 5 over-long
        json.dumps({"question": "nul\u0000byte", "answer": "x"}).encode(),  # 6 NUL byte
        b'{"question": "caf\xe9 latin-1", "answer": "x"}',  # 7 bad encoding
        json.dumps({"question": "   ", "answer": "x"}).encode(),  # 8 empty
        json.dumps(["not", "an", "object"]).encode(),  # 9 not an object
        json.dumps({"question": "Where is my order?", "answer": "Track it.", "status": "gone"}).encode(),  # 10
        json.dumps({"id": "reset-password", "question": "dup", "answer": "x"}).encode(),  # 11 duplicate id
        json.dumps({"question": "Where is my order?", "answer": "Track it in **Orders**."}).encode(),  # 12 good
    ]
    path = tmp_path / "faqs.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")

    out, err = _import(path)

    assert "2 created, 0 updated, 0 unchanged, 10 skipped" in out
    for line, words in {
        2: "'question' is missing",
        3: "broken JSON",
        4: "'question' must be text, not int",
        5: "'question' is 501 characters; the limit is 500",
        6: "'question' contains a NUL byte",
        7: "not valid UTF-8",
        8: "'question' is empty",
        9: "expected a JSON object",
        10: "'status' must be one of draft, published",
        11: "duplicate id 'reset-password' (first on line 1)",
    }.items():
        assert f"line {line}: {words}" in err, err
    assert set(FaqDocument.objects.values_list("slug", flat=True)) == {"reset-password", "where-is-my-order"}
    assert Category.objects.get().name == "Accounts"


def test_a_json_array_reports_the_line_of_each_bad_element(tmp_path):
    path = tmp_path / "faqs.json"
    path.write_text(
        "[\n"
        + json.dumps(GOOD)
        + ",\n"
        + json.dumps({"question": "No answer"})
        + ",\n"
        + json.dumps({"question": "Do you ship to Norway?", "answer": "Yes.", "id": 7})
        + "\n"
        "]\n"
    )
    out, err = _import(path)
    assert "2 created" in out
    assert "line 3: 'answer' is missing" in err
    assert FaqDocument.objects.filter(slug="7").exists(), "numeric ids become slugs"


def test_a_csv_file_with_a_bad_row_keeps_the_rest(tmp_path):
    path = tmp_path / "faqs.csv"
    path.write_bytes(
        b"question,answer,category,id\n"
        b'How do refunds work?,"Refunds take\n5 days.",Returns,refunds\n'
        b",missing question,Returns,\n"
        b"Caf\xe9?,latin-1 bytes,Returns,\n"
        b"Can I change my address?,Yes before dispatch.,Orders,\n"
    )
    out, err = _import(path)
    assert "2 created" in out and "2 skipped" in out
    assert "line 4: 'question' is missing" in err
    assert "line 5: 'question' is not valid UTF-8" in err
    assert FaqDocument.objects.get(slug="refunds").answer == "Refunds take\n5 days."


def test_importing_the_same_file_twice_changes_nothing(tmp_path):
    path = tmp_path / "faqs.jsonl"
    path.write_text(json.dumps(GOOD) + "\n")
    _import(path)
    before = FaqDocument.objects.values_list("pk", "updated_at", "embedded_hash").get()
    out, _ = _import(path)
    assert "0 created, 0 updated, 1 unchanged" in out
    assert FaqDocument.objects.values_list("pk", "updated_at", "embedded_hash").get() == before


def test_a_changed_answer_is_updated_in_place_and_re_embedded(tmp_path):
    path = tmp_path / "faqs.jsonl"
    path.write_text(json.dumps(GOOD) + "\n")
    _import(path)
    first = FaqDocument.objects.get()
    path.write_text(json.dumps({**GOOD, "answer": "Open **Settings > Security**."}) + "\n")
    out, _ = _import(path)
    assert "0 created, 1 updated" in out
    second = FaqDocument.objects.get()
    assert second.pk == first.pk
    assert second.embedded_hash != first.embedded_hash and second.is_embedded


def test_dry_run_stores_nothing(tmp_path):
    path = tmp_path / "faqs.jsonl"
    path.write_text(json.dumps(GOOD) + "\n" + json.dumps({"question": "x"}) + "\n")
    out, err = _import(path, "--dry-run")
    assert "1 created" in out and "dry run" in out and "line 2" in err
    assert not FaqDocument.objects.exists() and not Category.objects.exists()


def test_an_unknown_format_or_missing_file_is_a_clear_error(tmp_path):
    (tmp_path / "faqs.xml").write_text("<faq/>")
    with pytest.raises(CommandError, match=re.escape("unknown format '.xml'; use .jsonl, .json or .csv")):
        _import(tmp_path / "faqs.xml")
    with pytest.raises(CommandError, match="no such file"):
        _import(tmp_path / "absent.jsonl")
    (tmp_path / "no_header.csv").write_text("title,body\nx,y\n")
    with pytest.raises(CommandError, match="must name a 'question' column"):
        _import(tmp_path / "no_header.csv")
