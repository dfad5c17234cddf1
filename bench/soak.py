"""Soak: many concurrent clients mixing search, recommendations and page views against Daphne.

    .venv/bin/python bench/soak.py [--clients 50] [--seconds 60]

Checks, and exits non-zero when one fails:
- no 5xx other than the pool-exhaustion 503s of the second phase;
- every successful question (API or search page) left exactly one user_responses row, found by
  the request id the client sent, and every refused one left none (nothing lost, nothing doubled);
- with the pool shrunk to one connection and a 100 ms wait, requests get a quick 503 with
  Retry-After instead of hanging.
All traffic goes to 127.0.0.1; the run is bounded in time and requests.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _django import fresh_database, setup_django
from search_load import Connection, free_port, percentile, question_variations, start_daphne, stop, wait_for_http


class Tally:
    def __init__(self) -> None:
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.statuses: Counter[tuple[str, int]] = Counter()
        self.failures: list[str] = []
        self.asked: dict[str, int] = {}  # request id -> HTTP status, for questions
        self.retry_after_missing = 0


async def run(port: int, *, clients: int, seconds: float, slugs: list[str], token: str, user_ids: list[int]) -> Tally:
    tally = Tally()
    questions = question_variations()
    deadline = time.perf_counter() + seconds
    budget = [clients * int(seconds) * 40]

    async def client(n: int) -> None:
        rng, connection = random.Random(n), Connection(port)
        try:
            while time.perf_counter() < deadline and budget[0] > 0:
                budget[0] -= 1
                request_id = uuid.uuid4().hex
                headers = {"X-Request-ID": request_id}
                roll = rng.random()
                if roll < 0.45:
                    kind, method, path = "ai_faq_search", "POST", "/api/ai_faq_search"
                    user_id = rng.choice(user_ids) if rng.random() < 0.5 else None
                    if user_id:
                        headers["Authorization"] = f"Bearer {token}"
                    body = json.dumps({"query": rng.choice(questions), "user_id": user_id}).encode()
                elif roll < 0.65:
                    kind, method, path = "recommendations", "POST", "/api/recommendations"
                    headers["Authorization"] = f"Bearer {token}"
                    body = json.dumps({"user_id": rng.choice(user_ids), "limit": 5}).encode()
                elif roll < 0.8:
                    kind, method, body = "search_page", "GET", b""
                    path = "/search?q=" + quote(rng.choice(questions))
                    headers["Accept"] = "text/html"
                else:
                    kind, method, body = "pages", "GET", b""
                    path = rng.choice(["/", f"/articles/{rng.choice(slugs)}/", "/sitemap.xml"])
                    headers["Accept"] = "text/html"
                started = time.perf_counter()
                try:
                    status, received, _ = await asyncio.wait_for(
                        connection.request(method, path, body, headers), timeout=30
                    )
                except (OSError, ValueError, IndexError, asyncio.IncompleteReadError, TimeoutError) as exc:
                    tally.failures.append(f"{kind}: {type(exc).__name__}: {exc}")
                    await connection.close()
                    continue
                tally.latencies[kind].append(time.perf_counter() - started)
                tally.statuses[(kind, status)] += 1
                if status == 503 and "retry-after" not in received:
                    tally.retry_after_missing += 1
                if kind in ("ai_faq_search", "search_page"):
                    tally.asked[request_id] = status
        finally:
            await connection.close()

    await asyncio.gather(*(client(n) for n in range(clients)))
    return tally


def history_check(tally: Tally) -> tuple[int, int, int]:
    """(answered with exactly one row, rows missing or doubled, rows for refused requests)."""
    from django.db.models import Count

    from faq.models import UserResponse

    counts = dict(
        UserResponse.objects.filter(request_id__in=list(tally.asked))
        .values_list("request_id")
        .annotate(n=Count("id"))
        .values_list("request_id", "n")
    )
    exact = sum(1 for rid, status in tally.asked.items() if status == 200 and counts.get(rid) == 1)
    wrong = sum(1 for rid, status in tally.asked.items() if status == 200 and counts.get(rid) != 1)
    stray = sum(1 for rid, status in tally.asked.items() if status != 200 and counts.get(rid))
    return exact, wrong, stray


def report(name: str, tally: Tally, seconds: float) -> None:
    total = sum(tally.statuses.values())
    print(f"{name}: {total} requests in {seconds:.0f} s ({total / seconds:.0f}/s), {len(tally.failures)} client errors")
    for kind in sorted(tally.latencies):
        values = tally.latencies[kind]
        codes = ", ".join(f"{code}: {n}" for (k, code), n in sorted(tally.statuses.items()) if k == kind)
        print(
            f"  {kind:16s} {len(values):6d}  p50 {percentile(values, 0.5) * 1000:7.1f} ms  "
            f"p95 {percentile(values, 0.95) * 1000:7.1f} ms  max {max(values) * 1000:7.1f} ms  [{codes}]"
        )
    for failure in tally.failures[:5]:
        print(f"  client error: {failure}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()
    setup_django()

    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connection

    from faq.models import FaqDocument
    from supportsite.env import database_url
    from supportsite.models import ApiToken

    problems: list[str] = []
    with tempfile.TemporaryDirectory() as tmp, fresh_database():
        call_command("load_demo", verbosity=0)
        slugs = list(FaqDocument.objects.values_list("slug", flat=True))
        staff = User.objects.create_user("soak-agent", is_staff=True)
        _, token = ApiToken.issue(user=staff, name="soak")
        user_ids = [User.objects.create_user(f"soak-{n}").pk for n in range(20)]
        url = database_url(connection.settings_dict)
        connection.close()

        for phase, env, allowed in (
            ("steady", {}, {200}),
            # One connection and a 100 ms wait for it: what cannot get it in time is refused, quickly.
            ("pool exhausted", {"DB_POOL_MIN": "1", "DB_POOL_MAX": "1", "DB_POOL_TIMEOUT": "0.1"}, {200, 503}),
        ):
            port = free_port()
            log = Path(tmp) / f"daphne-{port}.log"
            server = start_daphne(port, url, log, LOG_LEVEL="ERROR", **env)
            try:
                wait_for_http(f"http://127.0.0.1:{port}/healthz", server, log)
                seconds = args.seconds if phase == "steady" else max(args.seconds / 4, 2)
                started = time.perf_counter()
                tally = asyncio.run(
                    run(port, clients=args.clients, seconds=seconds, slugs=slugs, token=token, user_ids=user_ids)
                )
                report(phase, tally, time.perf_counter() - started)
            finally:
                stop(server)
            exact, wrong, stray = history_check(tally)
            print(
                f"  history: {exact} successful questions with exactly one row, {wrong} missing or doubled, "
                f"{stray} rows for refused questions"
            )
            unexpected = {key: n for key, n in tally.statuses.items() if key[1] not in allowed}
            if unexpected:
                problems.append(f"{phase}: unexpected statuses {unexpected}")
            if tally.failures:
                problems.append(f"{phase}: {len(tally.failures)} requests failed or hung")
            if wrong or stray:
                problems.append(f"{phase}: history rows wrong ({wrong} missing/doubled, {stray} stray)")
            if tally.retry_after_missing:
                problems.append(f"{phase}: {tally.retry_after_missing} 503s without Retry-After")
            if phase == "pool exhausted":
                refused = sum(n for (_, code), n in tally.statuses.items() if code == 503)
                slowest = max((max(v) for v in tally.latencies.values() if v), default=0.0)
                print(f"  pool exhaustion: {refused} quick 503s; slowest response {slowest * 1000:.0f} ms")
                if slowest > 10:
                    problems.append(f"pool exhausted: a response took {slowest:.1f} s (hanging)")
    print("verdict: " + ("all checks passed" if not problems else "; ".join(problems)))
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
