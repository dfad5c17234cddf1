"""Articles whose vector was made from another text than the one they would embed today.

Saving an article re-embeds it when its text changes, but a change in how the text is made (links
left out of it, for one) changes no row: their stored hash no longer matches. The upgrade's data
migration re-embeds them, and `reembed --missing` finds any it could not (model unavailable then).
"""

from __future__ import annotations

import hashlib
import logging

from faq.models import article_embedding_text

logger = logging.getLogger(__name__)
BATCH = 64


def text_hash(question: str, answer: str) -> str:
    text = article_embedding_text(question, answer)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def stale_article_ids(model) -> list[int]:
    """Ids of rows of `model` (the live FaqDocument or a migration's historical one) embedded with
    the configured model from a text whose hash is not today's."""
    from faq.embeddings import current_model_name

    rows = (
        model.objects.filter(embedding__isnull=False, embedding_model=current_model_name())
        .order_by("pk")
        .values_list("pk", "question", "answer", "embedded_hash")
        .iterator(chunk_size=2000)
    )
    return [pk for pk, question, answer, stored in rows if stored != text_hash(question, answer)]


def reembed_stale(model) -> tuple[int, int]:
    """Embed the stale rows again, batch by batch: (embedded, failed). A failed batch keeps its old
    vector (close to right, better than none) and its old hash, so `reembed --missing` retries it."""
    from faq.embeddings import EmbeddingError, embed_texts

    ids = stale_article_ids(model)
    embedded = failed = 0
    for start in range(0, len(ids), BATCH):
        rows = list(model.objects.filter(pk__in=ids[start : start + BATCH]).only("pk", "question", "answer"))
        try:
            vectors = embed_texts([article_embedding_text(row.question, row.answer) for row in rows])
        except EmbeddingError as exc:
            logger.warning("could not embed %d article(s) again: %s; run `manage.py reembed --missing`", len(rows), exc)
            failed += len(rows)
            continue
        for row, vector in zip(rows, vectors, strict=True):
            row.embedding = vector
            row.embedded_hash = text_hash(row.question, row.answer)
        model.objects.bulk_update(rows, ["embedding", "embedded_hash"])
        embedded += len(rows)
    return embedded, failed
