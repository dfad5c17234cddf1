"""python manage.py import_faqs PATH [--format jsonl|json|csv] [--dry-run]"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from faq.importing import FORMATS, ImportFormatError, ImportReport, import_records, read_records


class Command(BaseCommand):
    help = "Import FAQ articles from JSON Lines, a JSON array or CSV; upserts by id (slug)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="File to import (.jsonl, .json or .csv).")
        parser.add_argument("--format", choices=FORMATS, help="Override the format guessed from the file name.")
        parser.add_argument("--dry-run", action="store_true", help="Check and count; store nothing.")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args, path: Path, format: str | None, dry_run: bool, no_progress: bool, **options) -> None:
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        try:
            records, problems = read_records(path, format)
        except ImportFormatError as exc:
            raise CommandError(str(exc)) from None
        for problem in problems:
            self.stderr.write(f"skipped {path.name} {problem}")
        with tqdm(total=len(records), unit="article", disable=no_progress or None, desc="importing") as bar:
            report = import_records(records, dry_run=dry_run, progress=bar.update)
        report.problems = problems
        self.stdout.write(summary(report, dry_run=dry_run))


def summary(report: ImportReport, *, dry_run: bool) -> str:
    verb = "would be" if dry_run else "were"
    text = (
        f"{report.created} created, {report.updated} updated, {report.unchanged} unchanged, "
        f"{len(report.problems)} skipped (bad records){' — dry run: nothing ' + verb + ' stored' if dry_run else ''}."
    )
    if report.phrasings_added:
        text += f"\n{report.phrasings_added} known phrasing(s) added."
    if report.not_embedded:
        text += (
            f"\n{report.not_embedded} article(s) could not be embedded and were saved as 'not embedded' "
            "(keyword search still finds them): run `python manage.py reembed --missing`."
        )
    return text
