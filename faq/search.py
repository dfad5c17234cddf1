"""One retrieval path for pages, the API and the benchmarks.

Nearest neighbours by cosine distance through the HNSW index (ORDER BY distance LIMIT k, with
pgvector's iterative scans so visibility and category filters never empty the result), then
re-ranked by cosine similarity plus KEYWORD_WEIGHT times the full-text rank. The weight is the
one bench/retrieval.py measured not to lose to vector-only on either benchmark.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.conf import settings
from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce

from faq.embeddings import EmbeddingError, current_model_name, embed_query
from faq.models import LISTING_DEFER, Category, FaqDocument
from supportsite.metrics import query_type

RANKINGS = ("shipped", "vector", "keyword")
_WORD = re.compile(r"\w+")


class UnknownCategory(ValueError):
    def __init__(self, category: str) -> None:
        super().__init__(f"unknown category {category!r}")
        self.category = category


@dataclass
class Hit:
    document: FaqDocument
    similarity: float  # cosine similarity of the query and the article (0 for keyword-only hits)
    score: float  # what the ranking sorted by


@dataclass
class SearchResult:
    query: str
    hits: list[Hit]
    answered: bool
    degraded: bool = False  # the embedding backend failed: keyword-only results
    query_embedding: list[float] | None = None
    cutoff: float = 0.0
    category: Category | None = None

    @property
    def best(self) -> Hit | None:
        return self.hits[0] if self.hits else None


def similarity_cutoff() -> float:
    if settings.SIMILARITY_CUTOFF >= 0:
        return settings.SIMILARITY_CUTOFF
    return settings.SIMILARITY_CUTOFFS.get(current_model_name(), 0.45)


def find_category(name_or_slug: str | None) -> Category | None:
    """The category a caller named (slug or name, any case); UnknownCategory if there is none."""
    if not name_or_slug:
        return None
    category = Category.objects.filter(Q(slug=name_or_slug) | Q(name__iexact=name_or_slug)).first()
    if category is None:
        raise UnknownCategory(name_or_slug)
    return category


def keyword_query(text: str) -> SearchQuery | None:
    """Any of the query's words (OR), stemmed and stop-worded by PostgreSQL's english config.

    A question's words rarely all appear in one article, so AND (websearch) finds almost nothing.
    """
    words = _WORD.findall(text.lower())
    if not words:
        return None
    return SearchQuery(" | ".join(dict.fromkeys(words)), search_type="raw", config="english")


def search(
    query: str,
    *,
    user=None,
    category: Category | None = None,
    limit: int = 5,
    ranking: str = "shipped",
) -> SearchResult:
    """Rank the articles `user` may see for `query`; decide whether the best one answers it."""
    documents = FaqDocument.objects.visible_to(user).select_related("category")
    if category is not None:
        documents = documents.filter(category=category)
    vector: list[float] | None = None
    degraded = False
    if ranking != "keyword":
        try:
            vector = embed_query(query)
        except EmbeddingError:
            degraded = True
    if vector is None:
        hits = _keyword_hits(documents, query, limit)
        return SearchResult(query, hits, answered=False, degraded=degraded, category=category)

    hits = _vector_hits(documents, query, vector, weight=settings.KEYWORD_WEIGHT if ranking == "shipped" else 0.0)
    cutoff = similarity_cutoff()
    answered = bool(hits) and hits[0].similarity >= cutoff
    return SearchResult(
        query, hits[:limit], answered=answered, query_embedding=vector, cutoff=cutoff, category=category
    )


def _vector_hits(documents, query: str, vector: list[float], *, weight: float) -> list[Hit]:
    candidates = documents.nearest(vector)
    keywords = keyword_query(query) if weight else None
    if keywords is not None:
        # Ranked only for the k candidates the index returned, not for the whole table.
        candidates = candidates.annotate(
            keyword_rank=Coalesce(SearchRank(F("search_vector"), keywords, normalization=32), Value(0.0))
        )
    with query_type("vector_search"):
        rows = list(candidates.defer(*LISTING_DEFER)[: settings.SEARCH_CANDIDATES])
    hits = []
    for doc in rows:
        similarity = 1.0 - float(doc.distance)
        score = similarity + weight * float(getattr(doc, "keyword_rank", 0.0))
        hits.append(Hit(doc, similarity, score))
    # Iterative scans in relaxed order may return neighbours slightly out of order: sort here.
    hits.sort(key=lambda hit: hit.score, reverse=True)
    return hits


def _keyword_hits(documents, query: str, limit: int) -> list[Hit]:
    keywords = keyword_query(query)
    if keywords is None:
        return []
    ranked = (
        documents.filter(search_vector=keywords)
        .annotate(rank=SearchRank(F("search_vector"), keywords, normalization=32))
        .order_by("-rank", "pk")
        .defer(*LISTING_DEFER)[:limit]
    )
    with query_type("keyword_search"):
        return [Hit(doc, 0.0, float(doc.rank)) for doc in ranked]
