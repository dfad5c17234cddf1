"""search() with and without known phrasings, in one run, against the bare nearest-neighbour floor.

    .venv/bin/python bench/phrasing_speed.py [--articles 10000] [--phrasings 5] [--seconds 10]

Issue 17, point 7: 10,000 articles with 5 approved phrasings each (60,000 vectors) keep search()'s
p50 within 1.2x of articles alone. In a fresh scratch database: N generated articles
(bench/embed_import.generate) whose vectors are their question's real embedding (the local model,
each distinct question once) plus a little noise, so the index sees the clusters real articles
form; then K phrasings per article, each a noisier copy of its article's vector (cosine ~0.9), as a
paraphrase would be. The questions are bench/search_load.py's 200 customer-style variations, their
vectors embedded once and then cached, so the phases time the search itself, not the model.

Phases, in this order, each for --seconds on one thread: the floor (the bare nearest-neighbour
statement over the articles, run on a raw cursor), search() with no approved phrasing, then
(phrasings added and ANALYZEd) the floor again and search() with them, and (phrasings truncated)
both again, so drift on a shared machine shows. Printed: p50 and p95 of each, and
p50 with phrasings / the mean p50 of the two phases without (target <= 1.2).
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _django import fresh_database, setup_django
from embed_import import generate
from search_load import percentile, question_variations

TARGET_RATIO = 1.2  # p50 with phrasings / p50 of articles alone, at most


def noisy(rng, vector, scale: float):
    import numpy as np

    out = vector + rng.standard_normal(vector.shape[0]).astype(np.float32) * scale
    return out / np.linalg.norm(out)


def seed_articles(n: int) -> list:
    import numpy as np

    from faq.embeddings import current_model_name, embed_texts
    from faq.models import Category, FaqDocument

    rows = generate(n)
    questions = sorted({row["question"] for row in rows})
    base = dict(zip(questions, np.asarray(embed_texts(questions), dtype=np.float32), strict=True))
    categories = {name: Category.objects.create(name=name) for name in sorted({r["category"] for r in rows})}
    rng, model = np.random.default_rng(5), current_model_name()
    documents = []
    for row in rows:
        document = FaqDocument(
            slug=row["id"], question=row["question"], answer=row["answer"], category=categories[row["category"]]
        )
        # Article text is longer than its question: its vector sits near, not on, the question's.
        document.embedding = noisy(rng, base[row["question"]], 0.02).tolist()
        document.embedding_model, document.embedded_hash = model, document.text_hash
        documents.append(document)
    return FaqDocument.objects.bulk_create(documents, batch_size=1000)


def seed_phrasings(documents: list, per_article: int) -> int:
    import numpy as np
    from django.utils import timezone

    from faq.embeddings import current_model_name
    from faq.models import KnownPhrasing

    rng, model, now = np.random.default_rng(6), current_model_name(), timezone.now()
    rows = []
    for document in documents:
        vector = np.asarray(document.embedding, dtype=np.float32)
        for k in range(per_article):
            phrasing = KnownPhrasing(
                document=document, text=f"{document.question} ({k})", source="import", approved_at=now
            )
            phrasing.embedding = noisy(rng, vector, 0.025).tolist()
            phrasing.embedding_model, phrasing.embedded_hash = model, phrasing.text_hash
            rows.append(phrasing)
    KnownPhrasing.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def article_statement(question: str) -> tuple[str, list]:
    """The bare nearest-neighbour statement over the articles a customer may read (no phrasings,
    no keyword rank): the floor any search of them pays."""
    from django.conf import settings

    from faq.embeddings import embed_query
    from faq.models import LISTING_DEFER, FaqDocument

    nearest = FaqDocument.objects.visible_to(None).nearest(embed_query(question)).defer(*LISTING_DEFER)
    sql, params = nearest[: settings.SEARCH_CANDIDATES].query.sql_with_params()
    return sql, list(params)


def timed(questions: list[str], seconds: float, run) -> list[float]:
    rng, latencies = random.Random(3), []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        question = rng.choice(questions)
        started = time.perf_counter()
        run(question)
        latencies.append(time.perf_counter() - started)
    return latencies


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--phrasings", type=int, default=5, help="approved phrasings per article")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each measured phase")
    args = parser.parse_args()
    if not 1 <= args.articles <= 200_000 or not 1 <= args.phrasings <= 50 or not 0 < args.seconds <= 600:
        parser.error("--articles 1-200000, --phrasings 1-50, --seconds up to 600")
    setup_django()

    from django.conf import settings
    from django.db import connection

    from faq.embeddings import embed_query
    from faq.models import KnownPhrasing
    from faq.search import search

    if settings.EMBEDDING_BACKEND != "local":
        sys.exit("this benchmark measures the local backend: unset EMBEDDING_BACKEND")
    questions = question_variations()
    for question in questions:
        embed_query(question)  # cached: the phases time the search, not the model

    def floor(statements: dict) -> list[float]:
        def run(question: str) -> None:
            with connection.cursor() as cursor:
                cursor.execute(*statements[question])
                cursor.fetchall()

        return timed(questions, args.seconds, run)

    def searched() -> list[float]:
        timed(questions, 1.0, lambda q: search(q))  # warm: statements compiled, pages cached
        return timed(questions, args.seconds, lambda q: search(q))

    results: dict[str, list[float]] = {}
    with fresh_database():
        started = time.perf_counter()
        documents = seed_articles(args.articles)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE faq_documents")
        print(f"articles        {len(documents)} seeded in {time.perf_counter() - started:.0f} s", flush=True)
        results["floor, articles alone"] = floor({q: article_statement(q) for q in questions})
        results["search(), articles alone"] = searched()
        started = time.perf_counter()
        added = seed_phrasings(documents, args.phrasings)
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {KnownPhrasing._meta.db_table}")
        print(
            f"phrasings       {added} seeded in {time.perf_counter() - started:.0f} s "
            f"({len(documents) + added} vectors)",
            flush=True,
        )
        results["floor, with phrasings"] = floor({q: article_statement(q) for q in questions})
        results["search(), with phrasings"] = searched()
        with connection.cursor() as cursor:
            # Empty again (indexes too): articles alone once more, so drift on a shared machine shows.
            cursor.execute(f"TRUNCATE {KnownPhrasing._meta.db_table}")
        results["floor, articles alone again"] = floor({q: article_statement(q) for q in questions})
        results["search(), articles alone again"] = searched()

    print(f"\n{'in process, 1 thread':<32}{'ops':>8}{'p50 ms':>9}{'p95 ms':>9}")
    for label, latencies in results.items():
        p50, p95 = percentile(latencies, 0.5) * 1000, percentile(latencies, 0.95) * 1000
        print(f"  {label:<30}{len(latencies):>8}{p50:>9.2f}{p95:>9.2f}")
    alone = (
        percentile(results["search(), articles alone"], 0.5)
        + percentile(results["search(), articles alone again"], 0.5)
    ) / 2
    ratio = percentile(results["search(), with phrasings"], 0.5) / alone
    met = "met" if ratio <= TARGET_RATIO else "NOT met"
    print(f"\np50 with phrasings / articles alone (mean of both)  {ratio:.2f}  (target <= {TARGET_RATIO}: {met})")


if __name__ == "__main__":
    main()
