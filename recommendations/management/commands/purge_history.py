"""python manage.py purge_history [--days N] [--dry-run]: enforce HISTORY_RETENTION_DAYS."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from recommendations.history import purge_older_than


class Command(BaseCommand):
    help = "Delete question and reading history older than HISTORY_RETENTION_DAYS (run it daily; idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, help="Override HISTORY_RETENTION_DAYS for this run.")
        parser.add_argument("--dry-run", action="store_true", help="Count what would be deleted.")

    def handle(self, *args, days: int | None, dry_run: bool, **options) -> None:
        days = settings.HISTORY_RETENTION_DAYS if days is None else days
        if days <= 0:
            self.stdout.write("History retention is off (HISTORY_RETENTION_DAYS=0): nothing deleted.")
            return
        questions, views = purge_older_than(days, dry_run=dry_run)
        verb = "would delete" if dry_run else "deleted"
        self.stdout.write(f"{verb} {questions} question(s) and {views} article view(s) older than {days} days.")
