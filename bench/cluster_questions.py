"""Content-gap clustering at scale: `manage.py cluster_questions` over N stored questions.

    .venv/bin/python bench/cluster_questions.py [--questions 100000] [--phrasings 400]

In a fresh scratch database with the demo help centre: embeds a few hundred distinct customer
phrasings with the local model, then stores N gap questions (abstained, low-confidence answers and
answers marked not helpful, by 2,000 customers and anonymous visitors, over 60 days) whose
embeddings are those phrasings perturbed with noise (cosine ~0.8-0.93 to their phrasing; popular
phrasings asked far more often; by default 5% blends of two phrasings as a long tail), inserted with COPY.
Then runs the command as its own process twice and prints its wall time, its peak RSS and the
clusters; the second run must give the same queue (idempotent).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _django import ROOT, fresh_database, peak_rss_mb, setup_django

DEMO = ROOT / "faq" / "demo"
USERS = 2000
TARGET_SECONDS = 120


def phrasings(count: int) -> list[str]:
    """The demo's customer questions (answerable and not), then generated ones up to `count`."""
    from embed_import import generate

    texts = [
        json.loads(line)["query"]
        for name in ("queries.jsonl", "unanswerable.jsonl")
        for line in (DEMO / name).read_text(encoding="utf-8").splitlines()
    ]
    texts += [article["question"] for article in generate(count, seed=23)]
    return list(dict.fromkeys(texts))[:count]


def store_questions(
    n: int, texts: list[str], vectors: np.ndarray, *, long_tail: float = 0.05, seed: int = 3
) -> dict[str, int]:
    """COPY n gap questions into user_responses (binary, on a connection of its own)."""
    import psycopg
    from django.contrib.auth.models import User
    from django.db import connection
    from django.utils import timezone

    from faq.models import FaqDocument, Feedback, UserResponse
    from supportsite.env import database_url

    rng = np.random.default_rng(seed)
    users = User.objects.bulk_create([User(username=f"customer-{i}") for i in range(USERS)])
    user_ids = np.array([user.pk for user in users])
    article_ids = list(FaqDocument.objects.values_list("pk", flat=True))
    # Zipf-like popularity: a few phrasings are asked far more often than the rest.
    weights = 1.0 / np.arange(1, len(texts) + 1) ** 0.9
    base = rng.choice(len(texts), size=n, p=weights / weights.sum())
    blend = rng.random(n) < long_tail
    other = rng.integers(0, len(texts), size=n)
    mix = rng.uniform(0.4, 0.6, size=(n, 1)).astype(np.float32)
    noise = rng.standard_normal((n, vectors.shape[1]), dtype=np.float32) * rng.uniform(0.02, 0.04, size=(n, 1)).astype(
        np.float32
    )
    rows = vectors[base] + noise
    rows[blend] = mix[blend] * vectors[base[blend]] + (1 - mix[blend]) * vectors[other[blend]] + noise[blend]
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    kind = rng.choice(3, size=n, p=[0.6, 0.3, 0.1])  # abstained, low confidence, not helpful
    signed_in = rng.random(n) < 0.4
    who = rng.choice(user_ids, size=n)
    now = timezone.now()
    ages = rng.uniform(0, 60 * 86400, size=n)
    header = np.array([vectors.shape[1], 0], dtype=">u2").tobytes()

    columns = (
        "user_id, query, response, query_embedding, matched, answered, answer_mode, category, latency_ms, "
        "request_id, created_at"
    )
    types = ["int4", "text", "text", "bytea", "jsonb", "bool", "text", "text", "int4", "text", "timestamptz"]
    copy_sql = f"COPY user_responses ({columns}) FROM STDIN (FORMAT BINARY)"
    with (
        psycopg.connect(database_url(connection.settings_dict)) as conn,
        conn.cursor() as cursor,
        cursor.copy(copy_sql) as copy,
    ):
        # The vector goes as bytes in pgvector's binary form; the server reads it with vector_recv.
        copy.set_types(types)
        for i in range(n):
            answered = kind[i] != 0
            similarity = 0.47 if kind[i] == 1 else 0.62
            matched = [
                {"id": article_ids[(base[i] + k) % len(article_ids)], "similarity": similarity - 0.03 * k}
                for k in range(3)
            ]
            copy.write_row(
                (
                    int(who[i]) if signed_in[i] else None,
                    texts[base[i]],
                    "..." if answered else "Sorry, we could not find an answer.",
                    header + rows[i].astype(">f4").tobytes(),
                    psycopg.types.json.Jsonb(matched if answered else [dict(m, similarity=0.3) for m in matched]),
                    bool(answered),
                    "extractive",
                    "",
                    5,
                    "bench-not-helpful" if kind[i] == 2 else "",
                    now - timedelta(seconds=float(ages[i])),
                )
            )
    not_helpful = UserResponse.objects.filter(request_id="bench-not-helpful").values_list("pk", "user_id")
    Feedback.objects.bulk_create(
        [Feedback(response_id=pk, user_id=user_id, helpful=False) for pk, user_id in not_helpful.iterator()],
        batch_size=5000,
    )
    return {"questions": UserResponse.objects.count(), "not_helpful": Feedback.objects.count()}


# The command in a process of its own, reporting its own peak RSS. Not getrusage(RUSAGE_CHILDREN):
# Linux carries a parent's peak RSS across fork and exec into the child's ru_maxrss, so a child of
# this driver (hundreds of MB with the model loaded) would report the driver's size. VmHWM is the
# high-water mark of the process's own memory since exec.
RUNNER = """
import sys
from django.core.management import execute_from_command_line
execute_from_command_line(["manage.py", "cluster_questions"])
peak = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print("peak-rss-kb", int(peak.split()[1]))
"""


def run_command() -> tuple[float, float, str]:
    """`manage.py cluster_questions` as its own process: wall time, its peak RSS (MB), its output."""
    from django.db import connection

    from supportsite.env import database_url

    env = {
        **os.environ,
        "DATABASE_URL": database_url(connection.settings_dict),
        "SECRET_KEY": "benchmark-only-key",
        "DJANGO_SETTINGS_MODULE": "supportsite.settings",
    }
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", RUNNER], cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"cluster_questions failed:\n{result.stdout}\n{result.stderr}")
    lines = result.stdout.strip().splitlines()
    peak_kb = int(lines[-1].split()[1])
    return wall, peak_kb / 1024, "\n".join(lines[:-1])


def snapshot() -> list[tuple]:
    from insights.models import GapCluster

    return list(GapCluster.objects.order_by("pk").values_list("pk", "questions", "customers", "answered_by_id"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=100_000)
    parser.add_argument("--phrasings", type=int, default=400)
    parser.add_argument(
        "--long-tail", type=float, default=0.05, help="Share of questions that blend two phrasings (one-offs)."
    )
    args = parser.parse_args()
    setup_django()

    from django.core.management import call_command
    from django.utils import timezone

    from faq.embeddings import embed_texts
    from faq.models import FaqDocument
    from insights.models import GapCluster, GapClusterMember

    random.seed(1)
    with fresh_database():
        started = time.perf_counter()
        call_command("load_demo", verbosity=0)
        # The articles predate the questions; one is revised today, so the clusters it answers leave the queue.
        FaqDocument.objects.update(updated_at=timezone.now() - timedelta(days=120))
        texts = phrasings(args.phrasings)
        vectors = np.array(embed_texts(texts), dtype=np.float32)
        stored = store_questions(args.questions, texts, vectors, long_tail=args.long_tail)
        revised = FaqDocument.objects.get(slug="track-my-order")
        FaqDocument.objects.filter(pk=revised.pk).update(updated_at=timezone.now())
        print(
            f"set-up: {stored['questions']:,} questions from {len(texts)} phrasings "
            f"({stored['not_helpful']:,} marked not helpful) in {time.perf_counter() - started:.0f} s"
        )

        wall, peak, output = run_command()
        first = snapshot()
        members = GapClusterMember.objects.count()
        wall2, peak2, output2 = run_command()
        second = snapshot()
        sizes = sorted((row[1] for row in first), reverse=True)
        open_clusters = GapCluster.objects.open().count()

    print(f"command: {output}")
    print(f"questions clustered         {members:,}")
    print(f"clusters                    {len(first):,} ({open_clusters:,} in the queue; largest {sizes[:5]})")
    print(f"singletons                  {sum(1 for size in sizes if size == 1):,}")
    verdict = "met" if wall < TARGET_SECONDS else "NOT met"
    print(f"wall time (1st run)         {wall:.1f} s   (target < {TARGET_SECONDS} s: {verdict})")
    print(f"peak RSS of the command     {peak:.0f} MB")
    print(f"wall time (2nd run)         {wall2:.1f} s   peak RSS {peak2:.0f} MB")
    print(f"second run gives the same queue: {'yes' if first == second else 'NO'}  ({output2.split(':')[0]})")
    print(f"peak RSS of this driver     {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
