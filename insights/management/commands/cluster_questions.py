"""python manage.py cluster_questions [--days N]: rebuild the content-gap queue (idempotent)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from insights.conf import setting
from insights.gaps import cluster_questions


class Command(BaseCommand):
    help = (
        "Group the questions the help centre did not answer well (abstained, low confidence, marked not "
        "helpful) into clusters of similar questions, replacing the content-gap queue. Run it daily; "
        "running it again on the same history gives the same queue."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days", type=int, help="Questions of the last N days (default: INSIGHTS_WINDOW_DAYS, 90)."
        )

    def handle(self, *args, days: int | None, **options) -> None:
        days = setting("INSIGHTS_WINDOW_DAYS") if days is None else days
        if not 1 <= days <= 3650:
            raise CommandError(f"--days must be between 1 and 3650; got {days}.")
        result = cluster_questions(days=days)
        run = result.run
        self.stdout.write(
            f"clustered {run.questions} question(s) of the last {days} days into {run.clusters} cluster(s): "
            f"{result.open} in the queue, {run.answered} already answered by a newer article, "
            f"{result.dismissed} dismissed as not a gap ({run.seconds:.1f} s)"
        )
