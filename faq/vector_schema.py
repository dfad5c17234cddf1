"""The embedding column's size in the database, and the checks that compare it with settings."""

from __future__ import annotations

from django.conf import settings
from django.core import checks
from django.db import connection, transaction
from django.db.utils import DatabaseError

INDEX_NAME = "faq_documents_embedding_hnsw"
FIX = "python manage.py reembed --all"


def column_dimensions() -> int | None:
    """vector(N) stores N as the column's type modifier."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT atttypmod FROM pg_attribute WHERE attrelid = 'faq_documents'::regclass AND attname = 'embedding'"
        )
        row = cursor.fetchone()
    return row[0] if row and row[0] > 0 else None


def resize_embedding_column(dimensions: int) -> None:
    """Old vectors cannot be converted to another size: drop them (reembed refills them)."""
    with transaction.atomic(), connection.cursor() as cursor:
        # ALTER TABLE refuses to run while deferred foreign-key checks are pending.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"DROP INDEX IF EXISTS {INDEX_NAME}")
        cursor.execute(
            "ALTER TABLE faq_documents ALTER COLUMN embedding TYPE vector(%s) USING NULL" % int(dimensions)  # noqa: UP031
        )
        cursor.execute("UPDATE faq_documents SET embedding_model = '', embedded_hash = ''")


def rebuild_vector_index() -> None:
    # Same definition as the model's HnswIndex; built after the bulk load, which is faster.
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX_NAME} ON faq_documents "
            "USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64)"
        )


def embedding_problems() -> list[str]:
    """What differs between the configured model and what is stored, with the fix."""
    from faq.embeddings import current_model_name
    from faq.models import FaqDocument

    try:
        stored_dimensions = column_dimensions()
        other_models = list(
            FaqDocument.objects.exclude(embedding_model="")
            .exclude(embedding_model=current_model_name())
            .values_list("embedding_model", flat=True)
            .distinct()[:5]
        )
    except DatabaseError:
        return []  # not migrated yet: nothing stored to compare
    problems = []
    if stored_dimensions is not None and stored_dimensions != settings.EMBEDDING_DIMENSIONS:
        problems.append(
            f"faq_documents.embedding holds {stored_dimensions}-dimension vectors but EMBEDDING_DIMENSIONS is "
            f"{settings.EMBEDDING_DIMENSIONS}: vector search is off until you run `{FIX}`."
        )
    if other_models:
        count = FaqDocument.objects.exclude(embedding_model="").exclude(embedding_model=current_model_name()).count()
        problems.append(
            f"{count} article(s) were embedded with {', '.join(other_models)} but the configured model is "
            f"{current_model_name()}: run `{FIX}`."
        )
    return problems


@checks.register(checks.Tags.database)
def check_embedding_configuration(app_configs, databases=None, **kwargs) -> list[checks.CheckMessage]:
    if not databases or "default" not in databases:
        return []
    return [checks.Warning(message, id="faq.W001") for message in embedding_problems()]
