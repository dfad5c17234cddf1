"""python manage.py load_demo [--if-empty]: the demo help centre of Larkspur Home."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandParser

from faq.importing import import_records, read_records
from faq.models import Category, FaqDocument

DEMO_DIR = Path(__file__).resolve().parent.parent.parent / "demo"


class Command(BaseCommand):
    help = "Load the demo help centre (categories and articles from faq/demo/)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--if-empty", action="store_true", help="Do nothing when articles exist already.")

    def handle(self, *args, if_empty: bool, **options) -> None:
        existing = FaqDocument.objects.count()
        if if_empty and existing:
            self.stdout.write(f"The help centre has {existing} article(s); the demo was not loaded.")
            return
        for line in (DEMO_DIR / "categories.jsonl").read_text(encoding="utf-8").splitlines():
            if line.strip():
                data = json.loads(line)
                Category.objects.update_or_create(
                    slug=data["slug"],
                    defaults={
                        "name": data["name"],
                        "description": data.get("description", ""),
                        "order": data.get("order", 0),
                    },
                )
        records, problems = read_records(DEMO_DIR / "faqs.jsonl")
        report = import_records(records)
        # A spread across topics for the home page's "Popular" until readers' history fills it.
        featured = (DEMO_DIR / "featured.txt").read_text(encoding="utf-8").split()
        FaqDocument.objects.filter(slug__in=featured).update(featured=True)
        learned = load_demo_phrasings()
        self.stdout.write(
            f"Loaded the demo help centre: {report.created} created, {report.updated} updated, "
            f"{report.unchanged} unchanged, {len(problems)} skipped; {learned} known phrasing(s) added."
        )


def load_demo_phrasings() -> int:
    """The demo's known phrasings, as its staff would have written them (never the benchmark's queries)."""
    from faq.phrasings import Source, set_phrasings

    wanted: dict[str, list[str]] = {}
    for line in (DEMO_DIR / "phrasings.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            wanted.setdefault(row["id"], []).append(row["phrasing"])
    documents = FaqDocument.objects.in_bulk(list(wanted), field_name="slug")
    return sum(
        set_phrasings(documents[slug], texts, source=Source.STAFF)
        for slug, texts in wanted.items()
        if slug in documents
    )
