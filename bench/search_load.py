"""A bounded load on POST /api/ai_faq_search served by Daphne, beside the floor it cannot beat.

    .venv/bin/python bench/search_load.py [--articles 10000] [--seconds 20] [--clients 1,32] [--workers 1]

Imports N generated articles (bench/embed_import.generate) into a fresh scratch database with the
code `manage.py import_faqs` runs, starts Daphne on 127.0.0.1 against that database (extractive
answers, so no network), and for each client count keeps that many HTTP/1.1 keep-alive clients
busy for --seconds, twice: "repeated", each drawing questions from a fixed list of ~200
customer-style variations (repeats are the common case in a help centre, and the server caches
repeated queries' vectors), and "distinct", where every question is new (a variation with a serial
number appended), so every request pays for the model and concurrent ones share its runs.

The floor is measured in this process on the same database, just before each endpoint phase, with
as many threads as that phase has clients (the server idles meanwhile): embedding the question
without any cache, as questions are (faq.embeddings.embed_texts(queries=True): the questions' kernel
in the model process) plus the nearest-neighbour SQL that
faq.search._vector_hits runs for it (captured once per question, then executed as search() does:
server-side bound and prepared, faq/prepared.py).
Printed: requests/s, p50 and p95 latency and errors per client count, the floor's ops/s and p50,
and the ratios against the targets (endpoint p50 <= 1.5 x the floor's at 1 client; endpoint
throughput >= 0.6 x the floor's at the largest client count, both loads; no errors).

With --workers N > 1 the server is `manage.py serve --workers N`: N Daphne processes accepting on
one port, as deployed at scale (README: "Running at scale").

Requests go only to 127.0.0.1, and every phase stops after --seconds or --max-requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _django import ROOT, fresh_database, setup_django
from embed_import import PRODUCTS, TOPICS, generate

ENDPOINT = "/api/ai_faq_search"
HOST = "127.0.0.1"
TARGET_LATENCY_RATIO = 1.5  # endpoint p50 / floor p50 at 1 client, at most
TARGET_THROUGHPUT_RATIO = 0.6  # endpoint requests/s / floor ops/s at the largest client count, at least
TARGET_PHRASING_RATIO = 1.2  # --phrasings: distinct p50 with phrasings / articles alone, at most (issue 17)
_SERIAL = itertools.count(1)

ASKS = [
    "where is my {t}",
    "how do i get a {t} for my {p}",
    "{t} for the {p} not working",
    "can i change the {t} on my {p} order",
    "how long does the {t} take for a {p}",
    "whats the {t} on a {p}",
    "need help with the {t} for the {p} i bought",
    "my {p} came damaged, what about the {t}",
    "is the {t} free for members",
    "why was my {t} refused",
    "{p} {t}?",
    "do i pay anything for the {t} on a {p}",
]
OFF_TOPIC = [
    "are you hiring at the warehouse",
    "what is the weather tomorrow",
    "who won the football last night",
    "can you recommend a good film",
    "how do i file my tax return",
    "what time does the cinema open",
    "is it safe to eat raw eggs",
    "translate hello into french",
]


def question_variations(n: int = 200, seed: int = 11) -> list[str]:
    """A fixed list of customer-style questions: mostly on topic, a few that no article answers."""
    rng = random.Random(seed)
    terms = [term for terms in TOPICS.values() for term in terms]
    questions = dict.fromkeys(OFF_TOPIC)
    while len(questions) < n:
        questions[rng.choice(ASKS).format(t=rng.choice(terms), p=rng.choice(PRODUCTS))] = None
    return list(questions)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@dataclass
class Phase:
    latencies: list[float] = field(default_factory=list)  # seconds, successful requests only
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # this process's CPU time during the phase (the load generator's share)

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def p(self, q: float) -> float:
        return percentile(self.latencies, q) * 1000

    def error(self, what: str) -> None:
        self.errors += 1
        if len(self.error_samples) < 3:
            self.error_samples.append(what)


# --- The floor: embedding + the nearest-neighbour SQL, in process ------------------------------


def capture_vector_sql(questions: list[str]) -> dict[str, tuple[str, dict]]:
    """The nearest-neighbour statement search() sends for each question, with its parameters."""
    from django.db import connection

    from faq.search import search

    statements: dict[str, tuple[str, list]] = {}
    for question in questions:
        seen: list[tuple[str, list]] = []

        def keep(execute, sql, params, many, context, seen=seen):
            if "<=>" in sql:  # pgvector's cosine distance: the _vector_hits query
                seen.append((sql, params))
            return execute(sql, params, many, context)

        with connection.execute_wrapper(keep):
            search(question, user=None)
        if not seen:
            sys.exit(f"search({question!r}) sent no nearest-neighbour SQL: has faq.search changed?")
        statements[question] = seen[-1]
    return statements


def floor_phase(questions: list[str], statements: dict, *, threads: int, seconds: float, max_ops: int) -> Phase:
    from django.db import connection

    from faq import prepared
    from faq.embeddings import embed_texts

    phase, lock = Phase(), threading.Lock()
    deadline = time.perf_counter() + seconds

    def worker(n: int) -> None:
        rng = random.Random(1000 + n)
        try:
            while time.perf_counter() < deadline:
                question = rng.choice(questions)
                sql, params = statements[question]
                started = time.perf_counter()
                # The model itself, no query cache, as a question is embedded (LOCAL_QUESTION_KERNEL, in
                # the model process: concurrent floor threads share its runs as requests do).
                embed_texts([question], queries=True)
                with prepared.cursor(connection) as cursor:  # as search() sends it
                    cursor.execute(sql, params)
                    cursor.fetchall()
                connection.close()  # back to the pool after each op, as a request does
                elapsed = time.perf_counter() - started
                with lock:
                    if len(phase.latencies) >= max_ops:
                        return
                    phase.latencies.append(elapsed)
        finally:
            connection.close()

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(worker, range(threads)))
    phase.seconds = time.perf_counter() - started
    return phase


# --- The endpoint: Daphne and a minimal HTTP/1.1 keep-alive client -----------------------------


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, process: subprocess.Popen, log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"Daphne exited with {process.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    sys.exit(f"{url} did not answer within {timeout:.0f} s:\n{log.read_text(errors='replace')[-3000:]}")


class Connection:
    """One keep-alive HTTP/1.1 connection to the server (reopened after any failure)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        status, _, data = await self.request("POST", path, body)
        return status, data

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
        assert self.reader is not None
        fields = {"Host": f"{HOST}:{self.port}", "Content-Type": "application/json", "Accept": "application/json"}
        fields.update(headers or {})
        fields["Content-Length"] = str(len(body))
        lines = "".join(f"{name}: {value}\r\n" for name, value in fields.items())
        head = f"{method} {path} HTTP/1.1\r\n{lines}\r\n"
        try:
            self.writer.write(head.encode("ascii") + body)
            await self.writer.drain()
            status_line = await self.reader.readline()
            if not status_line:
                raise ConnectionError("the server closed the connection")
            status = int(status_line.split()[1])
            received: dict[str, str] = {}
            while (line := await self.reader.readline()) not in (b"\r\n", b"\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                received[name.strip().lower()] = value.strip()
            if "content-length" in received:
                data = await self.reader.readexactly(int(received["content-length"]))
            elif received.get("transfer-encoding", "").lower() == "chunked":
                data = await self._chunked()
            else:
                data = await self.reader.read()
                received["connection"] = "close"
        except BaseException:
            await self.close()
            raise
        if received.get("connection", "").lower() == "close":
            await self.close()
        return status, received, data

    async def _chunked(self) -> bytes:
        assert self.reader is not None
        parts = []
        while size := int((await self.reader.readline()).split(b";")[0].strip(), 16):
            parts.append(await self.reader.readexactly(size))
            await self.reader.readline()
        while (await self.reader.readline()) not in (b"\r\n", b"\n", b""):
            pass  # trailers
        return b"".join(parts)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None


def body_for(question: str) -> bytes:
    return json.dumps({"query": question, "user_id": None, "category": None}).encode()


async def endpoint_phase(
    port: int, questions: list[str], *, clients: int, seconds: float, max_requests: int, distinct: bool = False
) -> Phase:
    phase = Phase()

    def next_question(rng: random.Random) -> str:
        if not distinct:
            return rng.choice(questions)
        # One count for the whole run: a later phase never asks an earlier one's question again
        # (the server would have its vector cached). One event loop per phase: no lock needed.
        return f"{rng.choice(questions)} {next(_SERIAL)}"

    deadline = time.perf_counter() + seconds
    budget = [max_requests]

    async def client(n: int) -> None:
        rng, connection = random.Random(n), Connection(port)
        try:
            while time.perf_counter() < deadline and budget[0] > 0:
                budget[0] -= 1
                started = time.perf_counter()
                try:
                    status, data = await connection.post(ENDPOINT, body_for(next_question(rng)))
                    elapsed = time.perf_counter() - started
                    if not 200 <= status < 300:
                        phase.error(f"HTTP {status}: {data[:200].decode(errors='replace')}")
                    elif "documents" not in json.loads(data):
                        phase.error(f"HTTP {status} without documents: {data[:200].decode(errors='replace')}")
                    else:
                        phase.latencies.append(elapsed)
                except (OSError, ValueError, IndexError, asyncio.IncompleteReadError) as exc:
                    phase.error(f"{type(exc).__name__}: {exc}")
        finally:
            await connection.close()

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(client(n) for n in range(clients)))
    phase.seconds = time.perf_counter() - started
    phase.cpu_seconds = time.process_time() - cpu
    return phase


def start_daphne(port: int, database: str, log: Path, workers: int = 1, **extra_env: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": database,
        "SECRET_KEY": os.environ.get("SECRET_KEY", "benchmark-only-key"),
        "ANSWER_MODE": "extractive",
        "DB_POOL_MIN": "2",
        "DEBUG": "false",
        "PYTHONUNBUFFERED": "1",
        **extra_env,
    }
    command = [sys.executable, "-m", "daphne", "-b", HOST, "-p", str(port), "supportsite.asgi:application"]
    if workers > 1:
        # One listening socket, N Daphne processes accepting on it (supportsite/management/commands/serve.py).
        command = [sys.executable, "manage.py", "serve", "--workers", str(workers), "--no-migrate"]
        command += ["--host", HOST, "--port", str(port)]
    with log.open("w") as out:
        return subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# --- Main --------------------------------------------------------------------------------------


def phrasing_phases(
    port: int, questions: list[str], client_counts: list[int], per_article: int, *, seconds: float, cap: int
) -> tuple[int, dict[int, Phase], dict[int, Phase]]:
    """Issue 17, point 7: the distinct load again with `per_article` approved phrasings on every
    article (bench/phrasing_speed.py's noisy copies of its vector, as paraphrases sit), then again
    with none, so drift shows. The server keeps running: it sees them through the catalogue
    version, as it would see a save."""
    from django.db import connection
    from phrasing_speed import seed_phrasings

    from faq.models import FaqDocument, KnownPhrasing

    started = time.perf_counter()
    added = seed_phrasings(list(FaqDocument.objects.only("pk", "embedding")), per_article)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {KnownPhrasing._meta.db_table}")
    print(f"phrasings                {added} approved, seeded in {time.perf_counter() - started:.0f} s", flush=True)
    run = functools.partial(endpoint_phase, port, questions, seconds=seconds, max_requests=cap, distinct=True)
    with_phrasings = {n: asyncio.run(run(clients=n)) for n in client_counts}
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {KnownPhrasing._meta.db_table}")
    again = {n: asyncio.run(run(clients=n)) for n in client_counts}
    connection.close()
    return added, with_phrasings, again


def report_phrasings(alone: dict[int, Phase], added: int, with_phrasings: dict, again: dict, *, check) -> int:
    """Print the three distinct loads and each p50 ratio; return their errors."""
    print(f"\n{'distinct, ' + str(added) + ' phrasings':<32}{'p50 ms':>9}{'req/s':>9}{'errors':>8}")
    loads = (("articles alone", alone), ("with phrasings", with_phrasings), ("articles alone again", again))
    for label, phases in loads:
        for n, phase in phases.items():
            row = f"{phase.p(0.5):>9.1f}{phase.rate:>9.1f}{phase.errors:>8}"
            print(f"{f'  {label}, {n} client(s)':<32}{row}")
    for n in with_phrasings:
        ratio = with_phrasings[n].p(0.5) / ((alone[n].p(0.5) + again[n].p(0.5)) / 2)
        label = f"p50 with phrasings / alone at {n} client(s)"
        check(label, ratio, ratio <= TARGET_PHRASING_RATIO, f"<= {TARGET_PHRASING_RATIO}")
    return sum(phase.errors for phase in [*with_phrasings.values(), *again.values()])


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each measured phase")
    parser.add_argument("--clients", default="1,32", help="comma-separated concurrent client counts")
    parser.add_argument("--max-requests", type=int, default=200_000, help="upper bound per phase")
    parser.add_argument("--workers", type=int, default=1, help="Daphne processes sharing the port (serve --workers)")
    parser.add_argument(
        "--phrasings", type=int, default=0, help="then K approved phrasings per article: distinct load again, and after"
    )
    args = parser.parse_args()
    if not 1 <= args.workers <= 64:
        parser.error("--workers must be between 1 and 64")
    if not 0 <= args.phrasings <= 50:
        parser.error("--phrasings must be between 0 and 50")
    try:
        client_counts = [int(n) for n in args.clients.split(",")]
    except ValueError:
        parser.error("--clients takes whole numbers separated by commas, e.g. 1,32")
    if not client_counts or min(client_counts) < 1 or max(client_counts) > 512:
        parser.error("--clients: each count must be between 1 and 512")
    setup_django()

    from django.conf import settings
    from django.db import connection

    from faq import embeddings, importing
    from supportsite.env import database_url

    if settings.EMBEDDING_BACKEND != "local":
        sys.exit("this benchmark measures the local backend: unset EMBEDDING_BACKEND")
    questions = question_variations()
    most = max(client_counts)
    with tempfile.TemporaryDirectory() as tmp, fresh_database():
        path = Path(tmp) / "articles.jsonl"
        path.write_text("".join(json.dumps(a) + "\n" for a in generate(args.articles)), encoding="utf-8")
        started = time.perf_counter()
        records, problems = importing.read_records(path)
        report = importing.import_records(records)
        import_seconds = time.perf_counter() - started
        with connection.cursor() as cursor:
            # The planner's statistics as autovacuum would leave them, so both sides see the steady state.
            cursor.execute("ANALYZE faq_documents")
        print(
            f"articles                 {report.created} imported in {import_seconds:.0f} s ({len(problems)} bad); "
            f"{len(questions)} question variations",
            flush=True,
        )

        embeddings.get_backend()
        statements = capture_vector_sql(questions)
        connection.close()

        port = free_port()
        log = Path(tmp) / "daphne.log"
        server = start_daphne(port, database_url(connection.settings_dict), log, workers=args.workers)
        try:
            wait_for_http(f"http://{HOST}:{port}/healthz", server, log)
            warm = asyncio.run(endpoint_phase(port, questions[:8], clients=1, seconds=30, max_requests=8))
            if warm.errors:
                sys.exit(
                    f"POST {ENDPOINT} failed before the load started: {warm.error_samples[0]}\n"
                    f"Daphne's log ends with:\n{log.read_text(errors='replace')[-3000:]}"
                )
            floor: dict[int, Phase] = {}
            endpoint: dict[int, Phase] = {}
            distinct: dict[int, Phase] = {}
            # Each floor phase right before the endpoint phase it is compared with: on a shared
            # machine the background load drifts, and adjacent phases see the same drift.
            seconds, cap = args.seconds, args.max_requests
            for n in client_counts:
                floor[n] = floor_phase(questions, statements, threads=n, seconds=seconds, max_ops=cap)
                endpoint[n] = asyncio.run(endpoint_phase(port, questions, clients=n, seconds=seconds, max_requests=cap))
                distinct[n] = asyncio.run(
                    endpoint_phase(port, questions, clients=n, seconds=seconds, max_requests=cap, distinct=True)
                )
            if args.phrasings:
                phrased = phrasing_phases(port, questions, client_counts, args.phrasings, seconds=seconds, cap=cap)
        finally:
            stop(server)

    print(f"settings                 EMBEDDING_THREADS {settings.EMBEDDING_THREADS}; CPUs {os.cpu_count()}")
    if args.workers > 1:
        print(f"server                   {args.workers} Daphne worker processes on one port (serve --workers)")
    print()
    columns = f"{'requests':>9}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'errors':>8}{'client CPU':>12}"
    print(f"{'POST ' + ENDPOINT:<32}{columns}")
    rows = [(f"{n} client(s), repeated", phase) for n, phase in endpoint.items()]
    rows += [(f"{n} client(s), distinct", phase) for n, phase in distinct.items()]
    for label, phase in rows:
        print(
            f"{'  ' + label:<32}{len(phase.latencies):>9}{phase.rate:>9.1f}"
            f"{phase.p(0.5):>9.1f}{phase.p(0.95):>9.1f}{phase.errors:>8}{phase.cpu_seconds / phase.seconds:>12.0%}"
        )
        for sample in phase.error_samples:
            print(f"    e.g. {sample}")
    print(f"{'floor: embed + NN SQL':<32}{'ops':>9}{'ops/s':>9}{'p50 ms':>9}{'p95 ms':>9}")
    for n, phase in floor.items():
        row = f"{len(phase.latencies):>9}{phase.rate:>9.1f}{phase.p(0.5):>9.1f}{phase.p(0.95):>9.1f}"
        print(f"{f'  {n} thread(s)':<32}{row}")
    print()
    errors = sum(phase.errors for phase in [*endpoint.values(), *distinct.values()])
    checks: list[bool] = []

    def check(label: str, value: float, ok: bool, target: str) -> None:
        checks.append(ok)
        print(f"{label:<46}{value:>6.2f}  (target {target}: {'met' if ok else 'NOT met'})")

    if 1 in endpoint:
        latency = endpoint[1].p(0.5) / floor[1].p(0.5)
        ok = latency <= TARGET_LATENCY_RATIO
        check("endpoint p50 / floor p50 at 1 client", latency, ok, f"<= {TARGET_LATENCY_RATIO}")
    for load, phases in (("repeated", endpoint), ("distinct", distinct)):
        throughput = phases[most].rate / floor[most].rate if floor[most].rate else 0.0
        check(
            f"{load} req/s / floor ops/s at {most} clients",
            throughput,
            throughput >= TARGET_THROUGHPUT_RATIO,
            f">= {TARGET_THROUGHPUT_RATIO}",
        )
    if args.phrasings:
        errors += report_phrasings(distinct, *phrased, check=check)
    checks.append(errors == 0)
    print(f"{'errors':<46}{errors:>6}  (target 0: {'met' if checks[-1] else 'NOT met'})")
    print(f"all targets: {'met' if all(checks) else 'NOT met'}")


if __name__ == "__main__":
    main()
