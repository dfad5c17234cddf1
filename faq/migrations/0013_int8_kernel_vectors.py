"""The local model now runs its int8 weights as int8 (settings.LOCAL_EMBEDDING_KERNEL, a new model
name): articles and known phrasings embedded by the float kernel are embedded again, so an upgrade
needs no manual step and search never compares vectors of the two. An empty help centre costs
nothing; stored questions keep their vectors (within 0.99 cosine of the new ones: recommendations
and the content-gap queue read them), and `reembed --all` makes them exact."""

from __future__ import annotations

import hashlib

from django.db import migrations

FLOAT_KERNEL = "all-MiniLM-L6-v2-int8"
INT8_KERNEL = "all-MiniLM-L6-v2-int8-dq"
BATCH = 64


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _reembed(model, text_of, old_model: str) -> tuple[int, int]:
    """(embedded, failed): a batch that fails keeps its old vector, and `reembed --missing` retries it."""
    from faq.embeddings import EmbeddingError, current_model_name, embed_texts

    ids = list(model.objects.filter(embedding_model=old_model).order_by("pk").values_list("pk", flat=True))
    embedded = failed = 0
    for start in range(0, len(ids), BATCH):
        rows = list(model.objects.filter(pk__in=ids[start : start + BATCH]))
        texts = [text_of(row) for row in rows]
        try:
            vectors = embed_texts(texts)
        except EmbeddingError:
            failed += len(rows)
            continue
        for row, text, vector in zip(rows, texts, vectors, strict=True):
            row.embedding, row.embedding_model, row.embedded_hash = vector, current_model_name(), _digest(text)
        model.objects.bulk_update(rows, ["embedding", "embedding_model", "embedded_hash"])
        embedded += len(rows)
    return embedded, failed


def reembed_vectors_of(apps, old_model: str, new_model: str) -> None:
    """Embed again the articles and known phrasings whose vectors `old_model` made, when `new_model`
    is the one configured (another kernel or backend chosen in settings: nothing changes)."""
    from faq.embeddings import current_model_name
    from faq.models import article_embedding_text

    if current_model_name() != new_model:
        return
    articles = apps.get_model("faq", "FaqDocument")
    phrasings = apps.get_model("faq", "KnownPhrasing")
    if not (
        articles.objects.filter(embedding_model=old_model).exists()
        or phrasings.objects.filter(embedding_model=old_model).exists()
    ):
        return
    done = [
        _reembed(articles, lambda row: article_embedding_text(row.question, row.answer), old_model),
        _reembed(phrasings, lambda row: row.text, old_model),
    ]
    # Its own line: `serve` migrates quietly, and `migrate` prints " OK" after it.
    print(
        f"\n  Embedded {done[0][0]} article(s) and {done[1][0]} known phrasing(s) again with {current_model_name()}; "
        f"{done[0][1] + done[1][1]} failed (run `manage.py reembed --missing`)."
    )


def reembed_float_kernel_vectors(apps, schema_editor) -> None:
    reembed_vectors_of(apps, FLOAT_KERNEL, INT8_KERNEL)


class Migration(migrations.Migration):
    dependencies = [("faq", "0012_phrasings_approved_hnsw")]

    operations = [migrations.RunPython(reembed_float_kernel_vectors, migrations.RunPython.noop, elidable=True)]
