"""python manage.py reembed --missing | --all

--all is for a model change: every article, and every stored question (their vectors feed
recommendations and the content-gap queue), embedded again with the configured model; a change of
size resizes every vector column first."""

from __future__ import annotations

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from faq.models import FaqDocument, KnownPhrasing, UserResponse
from faq.phrasings import reembed_phrasings
from faq.reembedding import reembed_documents, reembed_history
from faq.stale_vectors import stale_article_ids
from faq.vector_schema import column_dimensions, rebuild_vector_index, resize_embedding_column


class Command(BaseCommand):
    help = (
        "Embed articles that are not embedded (--missing), or after a model change every article and "
        "every stored question (--all)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument(
            "--missing", action="store_true", help="Only articles without a current vector, or from an older text."
        )
        group.add_argument("--all", action="store_true", help="Every article (resizes the column if needed).")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args, missing: bool, all: bool, no_progress: bool, **options) -> None:
        from django.conf import settings

        resized = False
        if all and column_dimensions() != settings.EMBEDDING_DIMENSIONS:
            old = column_dimensions()
            done = resize_embedding_column(settings.EMBEDDING_DIMENSIONS)
            resized = True
            self.stdout.write(
                f"Resized faq_documents.embedding from {old} to {settings.EMBEDDING_DIMENSIONS} dimensions "
                f"({'; '.join(done)})."
            )
        queryset = FaqDocument.objects.all() if all else FaqDocument.objects.not_embedded()
        ids = list(queryset.order_by("pk").values_list("pk", flat=True))
        if missing:
            # Also those embedded from another text than today's (faq/stale_vectors.py).
            ids = sorted({*ids, *stale_article_ids(FaqDocument)})
        with tqdm(total=len(ids), unit="article", desc="embedding", disable=no_progress or None) as bar:
            embedded = reembed_documents(ids, progress=bar.update)
        if resized:
            rebuild_vector_index()
        failed = len(ids) - embedded
        self.stdout.write(f"Embedded {embedded} article(s); {failed} failed.")
        # Known phrasings: --missing embeds those without a current vector, --all every one.
        total = KnownPhrasing.objects.count()
        with tqdm(total=total, unit="phrasing", desc="phrasings", disable=no_progress or None) as bar:
            phrasings, phrasings_failed = reembed_phrasings(everything=all, progress=bar.update)
        self.stdout.write(f"Embedded {phrasings} known phrasing(s); {phrasings_failed} failed.")
        questions_failed = 0
        if all:
            # Questions answered in keyword-only mode (embedding backend down) never had a vector.
            history = UserResponse.objects.exclude(answer_mode=UserResponse.Mode.KEYWORD)
            question_ids = list(history.order_by("pk").values_list("pk", flat=True))
            with tqdm(total=len(question_ids), unit="question", desc="history", disable=no_progress or None) as bar:
                questions = reembed_history(question_ids, progress=bar.update)
            questions_failed = len(question_ids) - questions
            self.stdout.write(f"Embedded {questions} stored question(s); {questions_failed} failed.")
            if resized and apps.is_installed("insights"):
                self.stdout.write("Run `python manage.py cluster_questions` to rebuild the content-gap queue.")
        if failed:
            raise CommandError(f"{failed} article(s) could not be embedded; see the log, then run reembed --missing.")
        if phrasings_failed:
            raise CommandError(f"{phrasings_failed} known phrasing(s) could not be embedded; run reembed --missing.")
        if questions_failed:
            raise CommandError(f"{questions_failed} stored question(s) could not be embedded; run reembed --all again.")
