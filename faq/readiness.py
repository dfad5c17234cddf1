"""The help centre's part of /readyz and /metrics (registered in FaqConfig.ready)."""

from __future__ import annotations

from django.db import connection

from faq.embeddings import EmbeddingError, get_backend
from faq.models import FaqDocument
from supportsite import metrics


def vector_extension() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        row = cursor.fetchone()
    return f"ok ({row[0]})" if row else "missing: run `python manage.py migrate`"


def embedding_backend() -> str:
    try:
        return f"ok ({get_backend().name})"
    except EmbeddingError as exc:
        return f"not loaded: {exc}"


def count_not_embedded() -> None:
    metrics.NOT_EMBEDDED.set(FaqDocument.objects.not_embedded().count())
