from __future__ import annotations

import json
from collections import Counter
from io import StringIO

import pytest
from django.core.management import call_command

from faq.management.commands.load_demo import DEMO_DIR
from faq.models import Category, FaqDocument


def _jsonl(name: str) -> list[dict]:
    return [json.loads(line) for line in (DEMO_DIR / name).read_text(encoding="utf-8").splitlines() if line.strip()]


def test_the_demo_set_is_large_enough_and_its_labels_point_at_real_articles():
    articles, questions, unanswerable = _jsonl("faqs.jsonl"), _jsonl("queries.jsonl"), _jsonl("unanswerable.jsonl")
    slugs = {a["id"] for a in articles}
    per_category = Counter(a["category"] for a in articles)
    assert len(articles) >= 80 and len(slugs) == len(articles)
    assert len(per_category) >= 8 and min(per_category.values()) >= 5
    assert {c["name"] for c in _jsonl("categories.jsonl")} >= set(per_category)
    assert len(questions) >= 150 and len(unanswerable) == 30
    assert all(q["relevant_ids"] and set(q["relevant_ids"]) <= slugs for q in questions)
    assert all(q["relevant_ids"] == [] for q in unanswerable)
    titles = {a["question"].lower() for a in articles}
    assert not any(q["query"].lower() in titles for q in questions), "questions are worded differently"


@pytest.mark.django_db
def test_load_demo_fills_an_empty_help_centre_once():
    out = StringIO()
    call_command("load_demo", "--if-empty", stdout=out)
    count = FaqDocument.objects.count()
    assert count >= 80 and f"{count} created" in out.getvalue()
    assert Category.objects.count() >= 8
    assert Category.objects.exclude(description="").count() == Category.objects.count()
    assert FaqDocument.objects.not_embedded().count() == 0

    again = StringIO()
    call_command("load_demo", "--if-empty", stdout=again)
    assert "the demo was not loaded" in again.getvalue()
    assert FaqDocument.objects.count() == count
