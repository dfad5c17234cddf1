"""Recommendation speed and quality.

    .venv/bin/python bench/recommend.py [--articles 10000] [--history 1000] [--calls 200]

Speed: a user with HISTORY past questions against ARTICLES generated articles (plus the demo set),
p50/p95 of the engine alone and of the whole POST /api/recommendations request, in-process.
Quality, from the demo labels: simulated users who asked three questions of one topic; the share
of their top-5 recommendations that are in that topic and were not already given as answers.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _django import ROOT, fresh_database, peak_rss_mb, setup_django

DEMO = ROOT / "faq" / "demo"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def quality(users_per_topic: int, seed: int = 11) -> tuple[float, int]:
    from django.contrib.auth.models import User
    from django.core.management import call_command

    from faq.answers import ask
    from faq.models import FaqDocument
    from recommendations.engine import recommend

    call_command("load_demo", verbosity=0)
    category_of = dict(FaqDocument.objects.values_list("slug", "category__name"))
    by_topic: dict[str, list[str]] = defaultdict(list)
    for line in (DEMO / "queries.jsonl").read_text(encoding="utf-8").splitlines():
        query = json.loads(line)
        topics = {category_of[slug] for slug in query["relevant_ids"]}
        if len(topics) == 1:
            by_topic[topics.pop()].append(query["query"])
    rng = random.Random(seed)
    shares = []
    for topic, questions in sorted(by_topic.items()):
        if len(questions) < 3:
            continue
        for n in range(users_per_topic):
            user = User.objects.create_user(f"sim-{len(shares)}-{n}")
            answered = set()
            for question in rng.sample(questions, 3):
                answer = ask(question, user=user)
                if answer.answered:
                    answered.add(answer.search.hits[0].document.pk)
            picks = recommend(user, limit=5)
            good = sum(1 for r in picks if category_of[r.document.slug] == topic and r.document.pk not in answered)
            shares.append(good / 5)
    return statistics.mean(shares), len(shares)


def speed(articles: int, history: int, calls: int) -> dict[str, float]:
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone
    from embed_import import generate

    from faq import importing
    from faq.embeddings import embed_texts
    from faq.models import FaqDocument, UserResponse
    from recommendations.engine import recommend

    started = time.perf_counter()
    path = Path(tempfile.mkdtemp()) / "articles.jsonl"
    path.write_text("".join(json.dumps(a) + "\n" for a in generate(articles)), encoding="utf-8")
    records, _ = importing.read_records(path)
    importing.import_records(records)
    print(f"set-up: {FaqDocument.objects.count()} articles imported in {time.perf_counter() - started:.0f} s")

    rng = random.Random(5)
    questions = [a["question"] for a in generate(history, seed=99)]
    vectors = embed_texts(questions)
    ids = list(FaqDocument.objects.values_list("pk", flat=True))
    user = User.objects.create_user("heavy-user")
    now = timezone.now()
    rows = [
        UserResponse(
            user=user,
            query=q,
            response="...",
            query_embedding=v,
            answered=True,
            answer_mode="extractive",
            matched=[{"id": rng.choice(ids), "similarity": 0.6}],
        )
        for q, v in zip(questions, vectors, strict=True)
    ]
    UserResponse.objects.bulk_create(rows)
    for i, row in enumerate(rows):  # spread over half a year; auto_now_add set them all to now
        row.created_at = now - timedelta(hours=4 * i)
    UserResponse.objects.bulk_update(rows, ["created_at"])

    engine = []
    for _ in range(calls):
        t = time.perf_counter()
        recommend(user, limit=5)
        engine.append((time.perf_counter() - t) * 1000)
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    request = []
    for _ in range(calls):
        t = time.perf_counter()
        response = client.post("/api/recommendations", {"limit": 5}, content_type="application/json")
        request.append((time.perf_counter() - t) * 1000)
        assert response.status_code == 200, response.content
    with CaptureQueriesContext(connection) as queries:
        recommend(user, limit=5)
    return {
        "engine_p50": statistics.median(engine),
        "engine_p95": percentile(engine, 0.95),
        "request_p50": statistics.median(request),
        "request_p95": percentile(request, 0.95),
        "queries": len(queries.captured_queries),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--history", type=int, default=1_000)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--users-per-topic", type=int, default=10)
    args = parser.parse_args()
    setup_django()
    with fresh_database():
        share, users = quality(args.users_per_topic)
        figures = speed(args.articles, args.history, args.calls)
    print(f"quality: {users} simulated users (3 questions in one topic each)")
    print(f"  top-5 in the same topic and not already answered: {share:.3f}  (target >= 0.8)")
    print(f"speed: 1 user with {args.history} past questions, {args.articles} generated articles + the demo set")
    print(f"  engine    p50 {figures['engine_p50']:.1f} ms  p95 {figures['engine_p95']:.1f} ms")
    print(f"  request   p50 {figures['request_p50']:.1f} ms  p95 {figures['request_p95']:.1f} ms  (target p95 < 50 ms)")
    print(f"  database queries per recommendation: {figures['queries']}")
    print(f"peak memory (RSS) {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
