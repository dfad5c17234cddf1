"""python manage.py export_faqs [PATH] [--format jsonl|json|csv]"""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandParser

from faq.importing import FORMATS, export_rows, write_export
from faq.models import FaqDocument


class Command(BaseCommand):
    help = "Export every FAQ article in the format import_faqs reads (lossless round trip)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", nargs="?", type=Path, help="Output file; standard output when omitted.")
        parser.add_argument("--format", choices=FORMATS, help="Default: from the file name, else jsonl.")

    def handle(self, *args, path: Path | None, format: str | None, **options) -> None:
        fmt = format or (path.suffix.lower().lstrip(".") if path else "jsonl")
        fmt = "jsonl" if fmt == "ndjson" else fmt
        if fmt not in FORMATS:
            fmt = "jsonl"
        documents = FaqDocument.objects.select_related("category").order_by("slug").iterator(chunk_size=1000)
        if path is None:
            count = write_export(export_rows(documents), sys.stdout, fmt)
        else:
            with path.open("w", encoding="utf-8", newline="") as out:
                count = write_export(export_rows(documents), out, fmt)
        self.stderr.write(f"exported {count} article(s)")
