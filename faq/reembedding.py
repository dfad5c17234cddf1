"""Embed stored rows again after a model change (`manage.py reembed`), batch by batch."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from faq.embeddings import EmbeddingError, embed_documents, embed_texts
from faq.models import FaqDocument, UserResponse

logger = logging.getLogger(__name__)


def reembed_rows(model: type, ids: Sequence[int], *, batch_size: int = 128, progress=None) -> int:
    """Embed the given rows of `model` (articles, known phrasings) again, batch by batch; returns
    how many were embedded. A failed batch keeps the vectors it had: an outage never wipes good ones."""
    embedded = 0
    for start in range(0, len(ids), batch_size):
        rows = list(model.objects.filter(pk__in=ids[start : start + batch_size]))
        done = embed_documents(rows)
        if done:
            model.objects.bulk_update(rows, ["embedding", "embedding_model", "embedded_hash"])
        embedded += done
        if progress is not None:
            progress(len(rows))
    return embedded


def reembed_documents(ids: Sequence[int], *, batch_size: int = 128, progress=None) -> int:
    """Embed the given articles again (see reembed_rows)."""
    return reembed_rows(FaqDocument, ids, batch_size=batch_size, progress=progress)


def reembed_history(ids: Sequence[int], *, batch_size: int = 256, progress=None) -> int:
    """Embed stored questions again with the current model (after a model change the old vectors
    mean nothing to the new one): recommendations and the content-gap queue read them.

    A failed batch is left as it was and counted out; returns how many were embedded."""
    embedded = 0
    for start in range(0, len(ids), batch_size):
        rows = list(UserResponse.objects.filter(pk__in=ids[start : start + batch_size]).only("pk", "query"))
        try:
            vectors = embed_texts([row.query for row in rows])
        except EmbeddingError as exc:
            logger.warning("could not embed %d stored question(s) again: %s", len(rows), exc)
        else:
            for row, vector in zip(rows, vectors, strict=True):
                row.query_embedding = vector
            UserResponse.objects.bulk_update(rows, ["query_embedding"])
            embedded += len(rows)
        if progress is not None:
            progress(len(rows))
    return embedded
