"""The demo help centre ships staff-written known phrasings, none of them a benchmark query."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.management import call_command

from faq.models import KnownPhrasing

DEMO = Path(__file__).resolve().parent.parent / "faq" / "demo"


def _rows(name: str) -> list[dict]:
    return [json.loads(line) for line in (DEMO / name).read_text().splitlines() if line.strip()]


def test_no_demo_phrasing_is_a_benchmark_query():
    queries = {" ".join(row["query"].lower().split()) for row in _rows("queries.jsonl") + _rows("unanswerable.jsonl")}
    phrasings = [" ".join(row["phrasing"].lower().split()) for row in _rows("phrasings.jsonl")]
    assert phrasings and not queries.intersection(phrasings)


@pytest.mark.django_db
def test_load_demo_adds_the_phrasings_as_staff_approved_ones():
    call_command("load_demo")
    expected = len(_rows("phrasings.jsonl"))
    assert KnownPhrasing.objects.filter(source="staff", status="approved").count() == expected
    call_command("load_demo")  # again: nothing is duplicated
    assert KnownPhrasing.objects.count() == expected
