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
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import connections
from django.db.models import BigIntegerField, Case, F, FloatField, Func, Min, OuterRef, Subquery, Sum, Value, When
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.db.models.query import get_related_populators
from pgvector.django import CosineDistance, VectorField

from faq import prepared
from faq.embeddings import EmbeddingError, current_model_name, embed_query
from faq.models import LISTING_DEFER, Category, FaqDocument
from faq.phrasings import phrasing_combination, phrasing_cutoff
from supportsite.metrics import query_type

RANKINGS = ("shipped", "vector", "keyword")
_WORD = re.compile(r"\w+")


@dataclass
class Hit:
    document: FaqDocument
    similarity: float  # cosine similarity of the query and the article or its best phrasing (0 for keyword-only hits)
    score: float  # what the ranking sorted by
    # The best approved phrasing's similarity (None: no phrasing of this article was near).
    phrasing_similarity: float | None = None
    article_similarity: float | None = None

    @property
    def matched_by(self) -> str:
        """ "phrasing" when a known phrasing, not the article itself, ranked it."""
        if self.phrasing_similarity is not None and self.phrasing_similarity > (self.article_similarity or -1.0):
            return "phrasing"
        return "article"

    def answers(self, cutoff: float, phrasing_cutoff: float) -> bool:
        """Each kind of match has its own cut-off (phrasing matches score higher)."""
        if self.article_similarity is None and self.phrasing_similarity is None:
            return self.similarity >= cutoff
        return (self.article_similarity or -1.0) >= cutoff or (self.phrasing_similarity or -1.0) >= phrasing_cutoff


@dataclass
class SearchResult:
    query: str
    hits: list[Hit]
    answered: bool
    degraded: bool = False  # the embedding backend failed: keyword-only results
    query_embedding: list[float] | None = None
    cutoff: float = 0.0
    category: Category | None = None
    # The catalogue version (faq/result_cache.py) read by the search statement itself, in its
    # snapshot: exactly the state these hits came from. None when no row came back.
    catalogue_version: int | None = None


def similarity_cutoff() -> float:
    if settings.SIMILARITY_CUTOFF >= 0:
        return settings.SIMILARITY_CUTOFF
    from faq.calibration import FALLBACK_CUTOFF, calibrated_cutoff

    # An uncalibrated model gets MiniLM's cut-off; start-up and /readyz warn (faq/calibration.py).
    measured = calibrated_cutoff(current_model_name())
    return FALLBACK_CUTOFF if measured is None else measured


def keyword_terms(text: str) -> str | None:
    """Any of the query's words (OR), as a raw tsquery; PostgreSQL's english config stems them and
    drops stop words. A question's words rarely all appear in one article, so AND (websearch) finds
    almost nothing."""
    words = _WORD.findall(text.lower())
    return " | ".join(dict.fromkeys(words)) if words else None


def keyword_query(terms: str) -> SearchQuery:
    return SearchQuery(terms, search_type="raw", config="english")


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

    weight = settings.KEYWORD_WEIGHT if ranking == "shipped" else 0.0
    hits, version = _vector_hits(documents, query, vector, weight=weight, limit=limit)
    cutoff = similarity_cutoff()
    answered = bool(hits) and hits[0].answers(cutoff, phrasing_cutoff())
    return SearchResult(
        query,
        hits,
        answered=answered,
        query_embedding=vector,
        cutoff=cutoff,
        category=category,
        catalogue_version=version,
    )


def _vector_hits(
    documents, query: str, vector: list[float], *, weight: float, limit: int
) -> tuple[list[Hit], int | None]:
    """The best `limit` of the SEARCH_CANDIDATES nearest articles and the articles of the
    PHRASING_CANDIDATES nearest approved phrasings, one result per article, ranked by the highest
    of the article's own similarity, its best phrasing's and (PHRASING_COMBINATION "centroid") the
    centre of its phrasings', plus the keyword signal; and the catalogue version they were read at."""
    terms = keyword_terms(query) if weight else None
    plan = _plan_for(documents, keyword_signal=terms is not None, centroid=phrasing_combination() == "centroid")
    with query_type("vector_search"):
        rows = plan.fetch(vector, terms)
    ranked = []
    for row in rows:
        distance = row[plan.distance_at]
        # An article only its phrasings brought in may have no current vector of its own.
        similarity = 1.0 - float(distance) if distance is not None else -1.0
        phrasing_distance, centroid_distance = plan.phrasing_distances(row)
        phrased = 1.0 - float(phrasing_distance) if phrasing_distance is not None else None
        keyword_rank = float(row[plan.keyword_rank_at]) if plan.keyword_rank_at is not None else 0.0
        best = max(similarity, phrased) if phrased is not None else similarity
        ranked_by = best
        if centroid_distance is not None:
            # The centre of its phrasings speaks for all of them: a question between several
            # wordings of one article is nearer their centre than to any one of them.
            ranked_by = max(best, 1.0 - float(centroid_distance))
        ranked.append((ranked_by + weight * keyword_rank, best, similarity, phrased, row))
    # Rows come nearest article first; a stable sort keeps that order among equal scores.
    ranked.sort(key=lambda item: item[0], reverse=True)
    hits = [
        Hit(plan.document(row), best, score, phrased, similarity)
        for score, best, similarity, phrased, row in ranked[:limit]
    ]
    return hits, (rows[0][plan.catalogue_version_at] if rows else None)


# --- The nearest-neighbour statement, compiled once per shape ------------------------------------
#
# Building and compiling the ORM query (visibility filter, category, cosine distance, keyword rank,
# deferred columns) cost more than the index scan itself (bench/search_load.py). The statement is
# therefore compiled once per *shape* with placeholder values in the two slots that change per
# question, and re-used with the real vector and keywords. The shape key is the caller's queryset
# filter itself (visible_to's WHERE, any category), so a new visibility rule can never reuse
# another rule's statement. Only the `limit` best rows become model instances.
#
# The compiled statement is sent server-side bound and prepared (faq/prepared.py): the vector goes
# once, as one binary parameter that all five of its uses name, the keywords as another, and every
# other value as the literal the ORM would have sent. PostgreSQL parses it once per connection and,
# after its first few custom plans, re-uses one generic plan, which the literals keep on both HNSW
# indexes (the phrasings' one is partial: approved only).

_VECTOR_SLOT = "\x01query-vector\x01"
_KEYWORDS_SLOT = "\x01query-keywords\x01"
_PLANS: dict[tuple, _Plan] = {}
_PLANS_MAX = 256


class _Plan:
    def __init__(self, queryset) -> None:
        self.db = queryset.db
        compiler = queryset.query.get_compiler(using=self.db)
        compiled, params = compiler.as_sql()
        if _VECTOR_SLOT not in params:
            raise RuntimeError("the nearest-neighbour statement lost its query vector parameter")
        self.sql = prepared.server_side_sql(
            compiled, params, {_VECTOR_SLOT: "%(vector)s::vector", _KEYWORDS_SLOT: "%(keywords)s"}
        )
        self.keyword_signal = _KEYWORDS_SLOT in params
        self.select = compiler.select
        klass_info = compiler.klass_info
        self.model = klass_info["model"]
        fields = klass_info["select_fields"]
        self.model_slice = slice(fields[0], fields[-1] + 1)
        self.init_list = [column[0].target.attname for column in self.select[self.model_slice]]
        self.related = get_related_populators(klass_info, self.select, self.db)
        self.annotations = dict(compiler.annotation_col_map or {})
        self.distance_at = self.annotations["distance"]
        # Either the best phrasing's distance alone, or (centroid) [best, centre's] in one array.
        self.phrasing_distance_at = self.annotations.get("phrasing_distance")
        self.phrasing_distances_at = self.annotations.get("phrasing_distances")
        self.pk_at = self.model_slice.start + self.init_list.index(self.model._meta.pk.attname)
        self.keyword_rank_at = self.annotations.get("keyword_rank")
        self.catalogue_version_at = self.annotations.pop("catalogue_version")  # the statement's, not an article's
        # Which columns convert (the float annotations), found once; they are called with the
        # connection of the thread that runs the statement.
        connection = compiler.connection
        self.converters = [
            (i, found, expression)
            for i, (expression, _sql, _alias) in enumerate(self.select)
            if (found := connection.ops.get_db_converters(expression) + expression.get_db_converters(connection))
        ]

    def fetch(self, vector: list[float], terms: str | None) -> list[list]:
        params = {"vector": prepared.VectorParameter(vector)}
        if self.keyword_signal:
            params["keywords"] = terms
        connection = connections[self.db]
        with prepared.cursor(connection) as cursor:
            cursor.execute(self.sql, params)
            rows = [list(row) for row in cursor.fetchall()]
        for row in rows if self.converters else ():
            for i, converters, expression in self.converters:
                for convert in converters:
                    row[i] = convert(row[i], expression, connection)
        return rows

    def phrasing_distances(self, row: list) -> tuple[float | None, float | None]:
        """The best approved phrasing's distance and (centroid) their centre's, or None."""
        if self.phrasing_distances_at is None:
            return row[self.phrasing_distance_at], None
        pair = row[self.phrasing_distances_at]
        return (pair[0], pair[1]) if pair is not None else (None, None)

    def document(self, row: list) -> FaqDocument:
        document = self.model.from_db(self.db, self.init_list, row[self.model_slice])
        for populator in self.related:
            populator.populate(row, document)
        for name, at in self.annotations.items():
            setattr(document, name, row[at])
        return document


def _plan_for(documents, *, keyword_signal: bool, centroid: bool) -> _Plan:
    query = documents.query
    model = current_model_name()
    key = (
        documents.db,
        query.where,
        _hashable(query.select_related),
        tuple(query.annotations),
        model,
        keyword_signal,
        centroid,
        settings.SEARCH_CANDIDATES,
        settings.PHRASING_CANDIDATES,
    )
    plan = _PLANS.get(key)
    if plan is None:
        plan = _Plan(_candidates(documents, model, keyword_signal=keyword_signal, centroid=centroid))
        if len(_PLANS) >= _PLANS_MAX:
            _PLANS.clear()
        _PLANS[key] = plan
    return plan


# Columns no search result shows: each of the statement's 20 candidates carried two timestamps,
# parsed from text by psycopg (40 per question, the largest Python cost of a search in cProfile:
# bench/search_statement.py). A page that needs them (the article page) reads its own row.
_UNSHOWN = ("created_at", "updated_at")


def _candidates(documents, model: str, *, keyword_signal: bool, centroid: bool):
    """One statement: the articles of `documents` that are among the SEARCH_CANDIDATES nearest by
    their own vector or own one of the PHRASING_CANDIDATES nearest approved phrasings, each with
    its own distance, its best approved phrasing's distance and its keyword rank."""
    from faq.models import KnownPhrasing

    vector = Value(_VECTOR_SLOT)
    nearest_articles = documents.nearest(vector, model=model).order_by("distance").values("pk")
    # The phrasings' HNSW index alone (partial: approved only, so pending ones cost nothing and
    # an empty index ends the scan at once); who may see their article is the outer filter's,
    # the caller's visibility QuerySet, never the phrasing's.
    nearest_phrasings = (
        KnownPhrasing.objects.approved()
        .filter(embedding_model=model)
        .annotate(distance=CosineDistance("embedding", vector))
        .order_by("distance")
        .values("document_id")
    )
    ids = nearest_articles[: settings.SEARCH_CANDIDATES].union(
        nearest_phrasings[: settings.PHRASING_CANDIDATES], all=True
    )
    # Exact best phrasing per candidate (a few rows each, by the (document, status) index); an
    # aggregate, so the planner cannot pick the HNSW index with a per-article filter.
    phrasings_of = (
        KnownPhrasing.objects.approved()
        .filter(document_id=OuterRef("pk"), embedding_model=model)
        .order_by()
        .values("document_id")
    )
    best = Min(CosineDistance("embedding", vector))
    candidates = documents.filter(pk__in=ids).annotate(
        # Vectors of another model are not comparable (nor the same size): no own similarity.
        distance=Case(When(embedding_model=model, then=CosineDistance("embedding", vector))),
    )
    if centroid:
        # The sum of the article's phrasings points where their mean does (cosine ignores length),
        # and pgvector's sum(vector) costs a quarter of its avg(vector) (measured, 10,000 articles).
        # Both from one read of the candidate's phrasings: one subquery, not two (bench/phrasing_speed.py).
        centre = CosineDistance(Sum("embedding", output_field=VectorField()), vector)
        pair = phrasings_of.annotate(pair=_FloatArray(best, centre)).values("pair")
        candidates = candidates.annotate(phrasing_distances=Subquery(pair, output_field=ArrayField(FloatField())))
    else:
        candidates = candidates.annotate(phrasing_distance=Subquery(phrasings_of.annotate(best=best).values("best")))
    if keyword_signal:
        keywords = keyword_query(_KEYWORDS_SLOT)
        # Ranked only for the candidates, not for the whole table.
        candidates = candidates.annotate(
            keyword_rank=Coalesce(SearchRank(F("search_vector"), keywords, normalization=32), Value(0.0))
        )
    # Read in the statement's own snapshot, so a repeated question's cached result is keyed by exactly
    # the state it came from, and a new question needs no round trip of its own for it.
    candidates = candidates.annotate(
        catalogue_version=RawSQL("SELECT version FROM faq_catalogue_version", (), output_field=BigIntegerField())
    )
    return candidates.order_by(F("distance").asc(nulls_last=True)).defer(*LISTING_DEFER, *_UNSHOWN)


class _FloatArray(Func):
    """ARRAY[a, b, ...] of double precision values."""

    template = "ARRAY[%(expressions)s]"

    def __init__(self, *expressions) -> None:
        super().__init__(*expressions, output_field=ArrayField(FloatField()))


def _hashable(value):
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    return value


def _keyword_hits(documents, query: str, limit: int) -> list[Hit]:
    terms = keyword_terms(query)
    if terms is None:
        return []
    keywords = keyword_query(terms)
    ranked = (
        documents.filter(search_vector=keywords)
        .annotate(rank=SearchRank(F("search_vector"), keywords, normalization=32))
        .order_by("-rank", "pk")
        .defer(*LISTING_DEFER)[:limit]
    )
    with query_type("keyword_search"):
        return [Hit(doc, 0.0, float(doc.rank)) for doc in ranked]
