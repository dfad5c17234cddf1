"""Import N generated articles with the local embedding backend; print articles/s and peak memory.

    .venv/bin/python bench/embed_import.py [--articles 10000]

Runs the same code as `manage.py import_faqs` against a fresh scratch database, then checks that
every article is embedded and found by an HNSW nearest-neighbour query. The floor printed beside
the total is the embedding model's time alone for the same texts, measured inside the same run.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _django import fresh_database, peak_rss_mb, setup_django

TOPICS = {
    "Orders and shipping": ["delivery", "parcel", "courier", "tracking number", "dispatch", "address"],
    "Returns and refunds": ["return label", "refund", "exchange", "collection", "damaged item", "receipt"],
    "Billing and payments": ["invoice", "card payment", "VAT", "instalments", "double charge", "PayPal"],
    "Accounts and sign-in": ["password", "two-factor code", "email address", "login link", "profile", "account"],
    "Privacy and security": ["personal data", "cookie settings", "data export", "phishing email", "deletion"],
    "Products and warranty": ["warranty", "assembly", "spare part", "care instructions", "stock", "dimensions"],
    "Membership": ["membership", "free delivery", "early access", "renewal", "trial", "member price"],
    "Gift cards and promotions": ["gift card", "discount code", "voucher", "balance", "promotion", "referral"],
}
PRODUCTS = [
    "sofa",
    "oak table",
    "desk lamp",
    "wardrobe",
    "rug",
    "kettle",
    "cookware set",
    "mattress",
    "bookcase",
    "office chair",
    "dinner plates",
    "curtains",
    "bed frame",
    "mirror",
    "coffee machine",
    "shelf unit",
]
ASKS = [
    "How do I change the {t} for my {p}?",
    "Why was my {t} for the {p} refused?",
    "Can I get a {t} after buying a {p}?",
    "What happens to my {t} if the {p} is late?",
    "Where do I find the {t} for an order with a {p}?",
    "Is there a fee for the {t} on a {p}?",
]
STEPS = [
    "Open Your orders and choose the order with the {p}.",
    "Select {t} and follow the steps on screen.",
    "We email you within {n} working days to confirm the {t}.",
    "If the {p} arrived damaged, add photos first.",
    "Members get the {t} free of charge; others pay a small fee shown at checkout.",
    "Contact support with your order number if the {t} does not appear after {n} days.",
]


def generate(n: int, seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    articles = []
    for i in range(n):
        category = rng.choice(list(TOPICS))
        term, product = rng.choice(TOPICS[category]), rng.choice(PRODUCTS)
        question = rng.choice(ASKS).format(t=term, p=product)
        steps = rng.sample(STEPS, k=rng.randint(3, 5))
        body = "\n".join(f"{k + 1}. " + s.format(t=term, p=product, n=rng.randint(2, 14)) for k, s in enumerate(steps))
        answer = f"Here is how the **{term}** works for a {product}.\n\n{body}\n\nArticle reference {i}."
        articles.append({"id": f"bench-{i:05d}", "question": question, "answer": answer, "category": category})
    return articles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=10_000)
    args = parser.parse_args()
    setup_django()

    from django.conf import settings
    from django.db import connection
    from pgvector.django import CosineDistance
    from tqdm import tqdm

    from faq import embeddings, importing
    from faq.models import FaqDocument

    if settings.EMBEDDING_BACKEND != "local":
        sys.exit("this benchmark measures the local backend: unset EMBEDDING_BACKEND")
    articles = generate(args.articles)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "articles.jsonl"
        path.write_text("".join(json.dumps(a) + "\n" for a in articles), encoding="utf-8")
        with fresh_database():
            embeddings.get_backend()  # loading the model is start-up, not import work
            embed_seconds = []
            original = importing.embed_documents

            def timed(docs):  # measure the model's share of the import
                started = time.perf_counter()
                try:
                    return original(docs)
                finally:
                    embed_seconds.append(time.perf_counter() - started)

            importing.embed_documents = timed
            started = time.perf_counter()
            records, problems = importing.read_records(path)
            with tqdm(total=len(records), unit="article", desc="importing", file=sys.stderr) as bar:
                report = importing.import_records(records, progress=bar.update)
            total = time.perf_counter() - started
            importing.embed_documents = original

            embedded = FaqDocument.objects.exclude(embedding=None).count()
            query = embeddings.embed_query("my refund for the sofa has not arrived")
            search_started = time.perf_counter()
            hits = list(FaqDocument.objects.order_by(CosineDistance("embedding", query)).values_list("slug")[:5])
            search_ms = (time.perf_counter() - search_started) * 1000
            with connection.cursor() as cursor:
                cursor.execute(
                    "EXPLAIN SELECT id FROM faq_documents ORDER BY embedding <=> %s::vector LIMIT 5", [str(query)]
                )
                plan = " ".join(row[0] for row in cursor.fetchall())

    model = sum(embed_seconds)
    print(f"articles imported        {report.created} of {len(articles)} ({len(problems)} bad)")
    print(
        f"embedded and searchable  {embedded} (HNSW index used: {'faq_documents_embedding_hnsw' in plan}; "
        f"top-5 query {search_ms:.1f} ms, {len(hits)} hits)"
    )
    print(f"total time               {total:.1f} s  ->  {report.created / total:.0f} articles/s")
    print(
        f"  floor: model only      {model:.1f} s  ({len(articles) / model:.0f} articles/s, "
        f"median batch {statistics.median(embed_seconds) * 1000:.0f} ms); everything else {total - model:.1f} s"
    )
    print(f"peak memory (RSS)        {peak_rss_mb():.0f} MB")
    print(f"embedding threads        {settings.EMBEDDING_THREADS}")
    target = 180
    print(
        f"target                   all imported and searchable in < {target} s: "
        f"{'met' if embedded == len(articles) and total < target else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
