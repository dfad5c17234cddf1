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


def vector_tables() -> list[tuple[type, list[str]]]:
    """Every model with vector columns (EmbeddingField), with those columns."""
    from django.apps import apps

    from faq.fields import EmbeddingField

    found = []
    for model in apps.get_models():
        columns = [field for field in model._meta.concrete_fields if isinstance(field, EmbeddingField)]
        if columns and not model._meta.proxy:
            found.append((model, columns))
    return found


def resize_embedding_column(dimensions: int) -> list[str]:
    """Old vectors cannot be converted to another size, nor compared with a new model's: every
    vector column is resized and emptied. Nullable ones (articles, question history) keep their
    rows, which `reembed --all` fills again; tables that hold nothing but vectors derived from the
    history (`VECTORS_ARE_DERIVED = True`, e.g. the content-gap queue) are emptied, to be rebuilt.
    Returns what was done, a line per table."""
    done = []
    with transaction.atomic(), connection.cursor() as cursor:
        # ALTER TABLE refuses to run while deferred foreign-key checks are pending.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"DROP INDEX IF EXISTS {INDEX_NAME}")
        for model, fields in vector_tables():
            table = connection.ops.quote_name(model._meta.db_table)
            if any(not field.null for field in fields):
                if not getattr(model, "VECTORS_ARE_DERIVED", False):
                    raise RuntimeError(f"{table} has a NOT NULL vector column and is not marked VECTORS_ARE_DERIVED")
                cursor.execute(f"TRUNCATE {table} CASCADE")
                done.append(f"emptied {model._meta.db_table} (rebuilt from the history)")
            for field in fields:
                column = connection.ops.quote_name(field.column)
                cursor.execute(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE vector({int(dimensions)}) USING NULL")
            done.append(f"resized {model._meta.db_table}.{', '.join(f.column for f in fields)}")
        cursor.execute("UPDATE faq_documents SET embedding_model = '', embedded_hash = ''")
        # Known phrasings keep their rows (staff wrote them); `reembed --all` embeds them again.
        cursor.execute("UPDATE faq_knownphrasing SET embedding_model = '', embedded_hash = ''")
    return done


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
