"""Prometheus metrics of the original design (names kept) and of the AI path.

Every SQL statement is timed by one execute wrapper and labelled with the query type that the
surrounding code declared (`with query_type("vector_search"): ...`; "other" when none), so the
histogram covers all queries without timing code at each call site.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from prometheus_client import Counter, Gauge, Histogram

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

QUERY_TIME = Histogram(
    "database_query_time_seconds", "Time taken to execute database queries", ["query_type"], buckets=_LATENCY_BUCKETS
)
# Summed across server processes (each has its own pool) in multiprocess mode.
POOL_SIZE = Gauge("database_pool_size", "Current size of the database connection pool", multiprocess_mode="livesum")
POOL_AVAILABLE = Gauge(
    "database_pool_available", "Number of available connections in the pool", multiprocess_mode="livesum"
)
DB_ERRORS = Counter("database_errors_total", "Total number of database errors", ["error_type"])

EMBEDDING_SECONDS = Histogram(
    "ai_embedding_seconds", "Time to embed texts, by backend", ["backend"], buckets=_LATENCY_BUCKETS
)
# Distinct query texts per model run (faq/batching.py): above 1 only when questions queued behind a run.
EMBEDDING_BATCH_SIZE = Histogram(
    "ai_embedding_query_batch_size", "Query texts embedded together in one model run", buckets=(1, 2, 4, 8, 16, 32, 64)
)
EMBEDDING_ERRORS = Counter("ai_embedding_errors_total", "Embedding calls that failed, by backend", ["backend"])
LLM_SECONDS = Histogram("ai_llm_seconds", "Time of chat completions, by model", ["model"], buckets=_LATENCY_BUCKETS)
LLM_TOKENS = Counter("ai_llm_tokens_total", "Tokens used by chat completions", ["model", "kind"])
AI_FALLBACKS = Counter("ai_fallbacks_total", "Generated answers that fell back to extractive, by reason", ["reason"])
ANSWERS = Counter("ai_answers_total", "Questions by outcome (answered, abstained, degraded)", ["outcome"])
RATE_LIMITED = Counter("rate_limited_total", "Requests refused with 429, by what was asked", ["kind"])
# A shared cache or channel layer that fails is ridden out (rate limits let requests through);
# these say how often.
RATE_LIMIT_ERRORS = Counter(
    "rate_limit_errors_total", "Requests let through unchecked because the cache failed, by what was asked", ["kind"]
)
CHANNEL_LAYER_ERRORS = Counter(
    "channel_layer_errors_total", "Channel layer (Redis) calls that failed, by operation", ["operation"]
)
# Per live process (a pid label in multiprocess mode): shows how evenly workers share one port.
WORKER_REQUESTS = Gauge(
    "server_worker_requests", "Requests finished by each live server process", multiprocess_mode="liveall"
)
REPLICA_POOL_SIZE = Gauge(
    "database_replica_pool_size", "Connections in each read replica's pool", ["database"], multiprocess_mode="livesum"
)
REPLICA_POOL_AVAILABLE = Gauge(
    "database_replica_pool_available",
    "Available connections in each read replica's pool",
    ["database"],
    multiprocess_mode="livesum",
)
# 1 while a process leaves a read replica out after finding it down (its reads go to the primary).
REPLICA_DOWN = Gauge(
    "database_replica_down",
    "1 while a read replica is left out because it was found down",
    ["database"],
    multiprocess_mode="livemax",
)
# Anonymous API calls answered by the express lane ("express") or left to Django ("django"): a
# rising share of "django" means callers send something the lane does not take (supportsite/express.py).
EXPRESS_LANE = Counter("express_lane_requests_total", "Calls to express-lane endpoints, by who answered", ["lane"])
FEEDBACK = Counter("feedback_total", "Was-this-helpful votes, by value", ["value"])
NOT_EMBEDDED = Gauge(
    "faq_articles_not_embedded",
    "Articles without a current embedding (run reembed --missing)",
    multiprocess_mode="livemax",
)

_query_type: contextvars.ContextVar[str] = contextvars.ContextVar("query_type", default="other")


@contextmanager
def query_type(name: str) -> Iterator[None]:
    """Label the SQL run inside the block, e.g. vector_search, history_insert."""
    token = _query_type.set(name)
    try:
        yield
    finally:
        _query_type.reset(token)


def time_queries(execute: Callable, sql: str, params: Any, many: bool, context: dict) -> Any:
    """Django execute wrapper: times every statement and counts database errors by type."""
    started = time.perf_counter()
    try:
        return execute(sql, params, many, context)
    except Exception as exc:
        DB_ERRORS.labels(error_type=type(exc).__name__).inc()
        raise
    finally:
        QUERY_TIME.labels(query_type=_query_type.get()).observe(time.perf_counter() - started)


def install_query_timer(sender, connection, **kwargs) -> None:
    """connection_created receiver: wrap each connection once (pooled connections come back)."""
    if time_queries not in connection.execute_wrappers:
        connection.execute_wrappers.append(time_queries)


def count_worker_request(**kwargs) -> None:
    """request_finished receiver."""
    WORKER_REQUESTS.inc()


def update_pool_gauges(**kwargs) -> None:
    """Read the live psycopg pool (request_finished receiver and at every scrape)."""
    from django.conf import settings
    from django.db import connections

    pool = getattr(connections["default"], "pool", None)
    if pool is not None:
        stats = pool.get_stats()
        POOL_SIZE.set(stats.get("pool_size", 0))
        POOL_AVAILABLE.set(stats.get("pool_available", 0))
    for alias in getattr(settings, "DATABASE_REPLICAS", ()):
        # Only pools already made: reading .pool would make one just to report it.
        pool = type(connections[alias])._connection_pools.get(alias)
        if pool is not None:
            stats = pool.get_stats()
            REPLICA_POOL_SIZE.labels(database=alias).set(stats.get("pool_size", 0))
            REPLICA_POOL_AVAILABLE.labels(database=alias).set(stats.get("pool_available", 0))


def count_connection_error(exc: BaseException) -> None:
    """Errors raised before a statement runs (pool timeout, server down) are database errors too."""
    DB_ERRORS.labels(error_type=type(exc).__name__).inc()


# The label values each counter is known to take, exported at 0 from start-up: an alert such as
# `rate(database_errors_total[5m]) > 0` then reads 0 instead of "no data" until the first error.
# Error and fallback reasons are exception class names; these are the ones that can occur
# (Django's database errors; the openai client's errors, and ValueError for an empty reply).
DATABASE_ERROR_TYPES = (
    "OperationalError",
    "InterfaceError",
    "PoolTimeout",
    "TooManyRequests",
    "ProgrammingError",
    "IntegrityError",
    "DataError",
    "InternalError",
    "NotSupportedError",
    "DatabaseError",
)
FALLBACK_REASONS = (
    "APIConnectionError",
    "APITimeoutError",
    "RateLimitError",
    "AuthenticationError",
    "PermissionDeniedError",
    "NotFoundError",
    "BadRequestError",
    "InternalServerError",
    "APIStatusError",
    "ValueError",
)
CHANNEL_LAYER_OPERATIONS = ("receive", "group_add", "group_discard", "group_send")
ANSWER_OUTCOMES = ("answered", "abstained", "degraded")
FEEDBACK_VALUES = ("helpful", "not_helpful")


def start_counters_at_zero() -> None:
    """Create every known labelled series at 0 (AppConfig.ready, once per process)."""
    from django.conf import settings

    from supportsite import ratelimit

    for error_type in DATABASE_ERROR_TYPES:
        DB_ERRORS.labels(error_type=error_type)
    for reason in FALLBACK_REASONS:
        AI_FALLBACKS.labels(reason=reason)
    for kind in ratelimit.KINDS:
        RATE_LIMITED.labels(kind=kind)
        RATE_LIMIT_ERRORS.labels(kind=kind)
    EMBEDDING_ERRORS.labels(backend=settings.EMBEDDING_BACKEND)
    for operation in CHANNEL_LAYER_OPERATIONS:
        CHANNEL_LAYER_ERRORS.labels(operation=operation)
    for outcome in ANSWER_OUTCOMES:
        ANSWERS.labels(outcome=outcome)
    for value in FEEDBACK_VALUES:
        FEEDBACK.labels(value=value)
    for lane in ("express", "django"):
        EXPRESS_LANE.labels(lane=lane)
    if settings.OPENAI_API_KEY:
        for kind in ("prompt", "completion"):
            LLM_TOKENS.labels(model=settings.OPENAI_CHAT_MODEL, kind=kind)
