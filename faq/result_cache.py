"""A repeated question reuses its search result while nothing it could read has changed.

A help centre hears the same questions again and again. Profiled under load (py-spy, 32 clients
repeating 50 questions), the two nearest-neighbour statements and the rows they return were most of
the database's CPU and about half of the request's own: work whose answer had not changed.

What decides "has not changed": the catalogue version that PostgreSQL keeps (migration faq 0011):
any committed change to articles, categories or known phrasings, by whatever path or process,
bumps it at commit. A kept question reads it (one small statement, on the database its search
would read) and its result is used only under the same version, so every save is reflected by
the next question on every process. The search statement reads the version too, in its own
snapshot, so a result is kept under exactly the state it came from and a question asked for the
first time pays no extra round trip.

Only anonymous callers' results are kept: what a signed-in or staff caller may see depends on who
they are, so they always search (visibility is never cached). Degraded (keyword-only) results are
not kept either: the embedding backend may be back for the next question.
"""

from __future__ import annotations

from django.conf import settings
from django.db import connections

from faq.embeddings import current_model_name
from faq.lru import LRU
from faq.models import Category, FaqDocument
from faq.search import SearchResult, search
from supportsite.db_router import read_alias
from supportsite.metrics import query_type

SIZE = 1024


_results: LRU[tuple[int, SearchResult]] = LRU(SIZE)  # question -> (catalogue version, its result)


def catalogue_version(alias: str) -> int | None:
    with query_type("catalogue_version"), connections[alias].cursor() as cursor:
        cursor.execute("SELECT version FROM faq_catalogue_version")
        row = cursor.fetchone()
    return row[0] if row else None


def _settings_key() -> tuple:
    # What else a result depends on; these change only with a restart, or in tests.
    return (
        current_model_name(),
        settings.EMBEDDING_DIMENSIONS,
        settings.SIMILARITY_CUTOFF,
        settings.PHRASING_CUTOFF,
        settings.KEYWORD_WEIGHT,
        settings.SEARCH_CANDIDATES,
        settings.PHRASING_CANDIDATES,
    )


def kept(query: str, *, user=None, category: Category | None = None) -> tuple[int, SearchResult] | None:
    """The result kept for an anonymous caller's question and the catalogue version it came from,
    not yet checked against the current version (the caller checks it in its own statement)."""
    key = _key(query, user, category)
    return None if key is None else _results.get(key)


def _key(query: str, user, category: Category | None) -> tuple | None:
    """The cache key, or None for a caller whose results are never kept."""
    alias = read_alias(FaqDocument)
    if getattr(user, "is_authenticated", False) or connections[alias].in_atomic_block:
        # Inside a transaction the version may count changes that are later rolled back, and the
        # same number may then be reached by other changes: only committed state is cached.
        return None
    return (alias, query, category.pk if category else None, _settings_key())


def search_once(query: str, *, user=None, category: Category | None = None) -> SearchResult:
    """faq.search.search(), served from the cache for an anonymous caller's repeated question."""
    key = _key(query, user, category)
    if key is None:
        return search(query, user=user, category=category)
    found = _results.get(key)
    if found is not None:
        version, result = found
        current = catalogue_version(key[0])
        if current is not None and current == version:
            return result
    # A question not kept (most new ones) reads the version in its search statement: no round trip.
    result = search(query, user=None, category=category)
    if not result.degraded and result.catalogue_version is not None:
        _results.put(key, (result.catalogue_version, result))
    return result


def clear() -> None:
    _results.clear()
