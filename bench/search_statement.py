"""What one new question's SQL costs in process: faq.search.search() and the history insert.

    .venv/bin/python bench/search_statement.py [--articles 10000] [--phrasings 0] [--questions 2000] [--rounds 3]

In a fresh scratch database: N generated articles (bench/phrasing_speed.seed_articles: each
article's vector is its question's real embedding plus a little noise) and optionally K approved
phrasings per article. --questions distinct customer-style questions (bench/search_load's
variations) are embedded once first, so every call below pays for the SQL and its Python around
it, never the model. Each round asks every question once, in a fresh order, on one thread:

- search():      faq.search.search(question), the nearest-neighbour statement and its hits;
- record_answer: faq.answers.record_answer for that search (the history row, as a question does).

Printed per phase: calls, the median per round of this thread's CPU per call and of the wall time
per call (p50, p95), and the database backend's CPU per call (read from /proc when the database
runs on this machine, as the embedded one does); then how PostgreSQL runs the prepared search
statement (generic and custom plans made, the indexes its plan scans, one EXPLAIN ANALYZE EXECUTE).
"""

from __future__ import annotations

import os
import random
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _django import fresh_database, setup_django
from phrasing_speed import seed_articles, seed_phrasings
from search_load import percentile, question_variations


def backend_cpu(pid: int | None) -> float | None:
    """Seconds of CPU the database backend `pid` has used (None: not on this machine)."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def plan_report(question: str) -> list[str]:
    """How PostgreSQL runs the prepared search statement on this connection: plans made so far, the
    indexes its plan scans, and one EXPLAIN ANALYZE EXECUTE's planning and execution times."""
    import json

    from django.db import connection

    from faq.embeddings import embed_query, vector_literal
    from faq.search import keyword_terms

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, generic_plans, custom_plans FROM pg_prepared_statements WHERE statement LIKE '%%<=>%%'"
        )
        found = cursor.fetchall()
        if not found:
            return ["no prepared search statement on this connection (client-side binding)"]
        lines = []
        for name, generic, custom in found:
            cursor.execute(
                f"EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE {name}(%s, %s)",
                [vector_literal(embed_query(question)), keyword_terms(question)],
            )
            (explained,) = cursor.fetchone()[0]
            text = json.dumps(explained["Plan"])
            indexes = sorted(set(re.findall(r'"Index Name": "([^"]+)"', text)))
            lines.append(
                f"{name}: {generic} generic and {custom} custom plans so far; its plan scans {', '.join(indexes)}; "
                f"EXPLAIN ANALYZE EXECUTE: planning {explained['Planning Time']:.3f} ms, "
                f"execution {explained['Execution Time']:.3f} ms"
            )
        return lines


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--phrasings", type=int, default=0, help="approved phrasings per article")
    parser.add_argument("--questions", type=int, default=2000, help="distinct questions per round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if not 1 <= args.articles <= 200_000 or not 0 <= args.phrasings <= 50:
        parser.error("--articles 1-200000, --phrasings 0-50")
    if not 10 <= args.questions <= 2000 or not 1 <= args.rounds <= 20:
        parser.error("--questions 10-2000 (the query-vector cache holds 2048), --rounds 1-20")
    setup_django()

    from django.conf import settings
    from django.db import connection

    from faq.answers import Answer, record_answer
    from faq.embeddings import embed_query
    from faq.models import KnownPhrasing, UserResponse
    from faq.search import search

    if settings.EMBEDDING_BACKEND != "local":
        sys.exit("this benchmark measures the local backend: unset EMBEDDING_BACKEND")
    questions = question_variations(args.questions)
    started = time.perf_counter()
    for question in questions:
        embed_query(question)  # cached: the phases time the SQL and the code around it, not the model
    print(f"questions       {len(questions)} distinct, embedded in {time.perf_counter() - started:.0f} s", flush=True)

    def ask(question: str) -> None:
        search(question)

    def record(question: str, results: dict) -> None:
        result = results[question]
        answer = Answer("An answer.", result.answered, UserResponse.Mode.EXTRACTIVE, result, "bench")
        record_answer(answer, user=None, started=time.perf_counter())

    phases: dict[str, list[tuple[list[float], list[float], float | None]]] = {"search()": [], "record_answer": []}
    with fresh_database():
        started = time.perf_counter()
        documents = seed_articles(args.articles)
        added = seed_phrasings(documents, args.phrasings) if args.phrasings else 0
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE faq_documents")
            cursor.execute(f"ANALYZE {KnownPhrasing._meta.db_table}")
            cursor.execute("SELECT pg_backend_pid()")
            (pid,) = cursor.fetchone()
        print(
            f"articles        {len(documents)} and {added} phrasings seeded in {time.perf_counter() - started:.0f} s",
            flush=True,
        )
        if backend_cpu(pid) is None:
            pid = None
        for question in questions[:100]:
            search(question)  # warm: the statement compiled, the index's pages cached
        results = {question: search(question) for question in questions}
        rng = random.Random(5)
        for _ in range(args.rounds):
            for label, run in (("search()", ask), ("record_answer", lambda q: record(q, results))):
                order = list(questions)
                rng.shuffle(order)
                cpu, wall = [], []
                server_before = backend_cpu(pid)
                for question in order:
                    wall_started, cpu_started = time.perf_counter(), time.thread_time()
                    run(question)
                    cpu.append(time.thread_time() - cpu_started)
                    wall.append(time.perf_counter() - wall_started)
                server_after = backend_cpu(pid)
                server = None if server_before is None else (server_after - server_before) / len(order)
                phases[label].append((cpu, wall, server))
        plans = plan_report(questions[0])
        UserResponse.objects.all().delete()

    print(f"\n{'in process, 1 thread':<18}{'calls':>8}{'CPU ms':>9}{'p50 ms':>9}{'p95 ms':>9}{'server CPU ms':>15}")
    for label, rounds in phases.items():
        cpu = statistics.median(statistics.mean(r[0]) for r in rounds) * 1000
        p50 = statistics.median(percentile(r[1], 0.5) for r in rounds) * 1000
        p95 = statistics.median(percentile(r[1], 0.95) for r in rounds) * 1000
        servers = [r[2] for r in rounds if r[2] is not None]
        server = f"{statistics.median(servers) * 1000:.3f}" if servers else "n/a"
        calls = sum(len(r[0]) for r in rounds)
        print(f"  {label:<16}{calls:>8}{cpu:>9.3f}{p50:>9.3f}{p95:>9.3f}{server:>15}")
    print("(medians of the rounds: mean CPU per call, p50 and p95 wall per call, database backend CPU per call)")
    print()
    for line in plans:
        print(f"search statement  {line}")


if __name__ == "__main__":
    main()
