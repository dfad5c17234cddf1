"""Recommendations from a user's own question history.

Interest comes from the embeddings of their past questions, stored when they asked (never
re-computed), newer questions weighing more. Each recent distinct question finds its nearest
published articles the user may see in ONE SQL round trip (a LATERAL HNSW search per question);
articles already read or already given as answers are ranked down; near-duplicates of a pick
are pushed down so the list spreads out; every item names the past question it comes from. Users with no
history, and anonymous callers, get the popular articles of the last 30 days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from django.conf import settings
from django.db import connections
from django.db.models import TextField
from django.db.models.functions import Cast
from django.utils import timezone

from faq.embeddings import current_model_name
from faq.models import LISTING_DEFER, ArticleView, FaqDocument, UserResponse, visibilities_for
from supportsite.db_router import primary, read_alias
from supportsite.metrics import query_type

# Near-duplicate past questions (cosine >= this) count as one interest, not several.
SAME_QUESTION = 0.9
# How much an article the user already read or was answered with keeps of its score.
SEEN_PENALTY = 0.35
# Diversity: an article this alike (cosine) to one already picked is pushed down, so the list is
# not five near-duplicates, while articles of the same topic that are merely related stay.
NEAR_DUPLICATE = 0.75
DUPLICATE_PENALTY = 1.0
NEIGHBOURS_PER_QUESTION = 15
UNANSWERED_MATCH_WEIGHT = 0.5
# Weight of topic interest: the share of the user's answered questions in an article's category.
TOPIC_WEIGHT = 0.2


@dataclass
class Recommendation:
    document: FaqDocument
    score: float
    reason: str
    personal: bool = True  # from the user's own history; False for the popular fallback


def recommend(user, *, limit: int = 5) -> list[Recommendation]:
    """A fixed number of queries whatever the history size (a test holds it to that)."""
    if user is None or not user.is_authenticated:
        return popular(user, limit=limit)
    recent = (
        UserResponse.objects.filter(user=user, query_embedding__isnull=False)
        .annotate(vector_text=Cast("query_embedding", TextField()))
        .order_by("-created_at")
        .values("query", "vector_text", "matched", "answered", "created_at")
    )
    # The user's own rows come from the primary (a question asked a moment ago counts at once);
    # the article searches below may run on a read replica.
    with query_type("user_history"), primary():
        history = list(recent[: settings.RECOMMENDATION_HISTORY])
    if not history:
        return popular(user, limit=limit)
    interests = _distinct_interests(history)
    answers = _answered_documents(history)
    topics = _topic_shares(answers)
    centroid = _centroid(interests, answers)
    candidates = _neighbours(user, [i.vector for i in interests] + [centroid])
    if not candidates:
        return popular(user, limit=limit)
    for candidate in candidates:
        # Closeness to the user's overall interest, plus the share of their answers in its topic.
        candidate.score = float(candidate.vector @ centroid) + TOPIC_WEIGHT * topics.get(candidate.category_id, 0.0)
        candidate.question = max(interests, key=lambda i: float(i.vector @ candidate.vector)).question
    seen = _seen_document_ids(user, history)
    picked = _diverse(candidates, seen, limit)
    documents = FaqDocument.objects.select_related("category").defer(*LISTING_DEFER).in_bulk([c.id for c in picked])
    results = [
        Recommendation(documents[c.id], round(c.score, 4), f"Because you asked \u201c{_shorten(c.question)}\u201d")
        for c in picked
        if c.id in documents
    ]
    if len(results) < limit:
        taken = {r.document.pk for r in results}
        results += [r for r in popular(user, limit=limit) if r.document.pk not in taken][: limit - len(results)]
    return results


def popular(user, *, limit: int) -> list[Recommendation]:
    from faq.popular import popular_documents

    return [
        Recommendation(doc, 0.0, "Popular in the last 30 days", personal=False)
        for doc in popular_documents(user, days=30, limit=limit)
    ]


@dataclass
class _Interest:
    question: str
    vector: np.ndarray
    weight: float


@dataclass
class _Candidate:
    id: int
    vector: np.ndarray
    category_id: int | None
    score: float = 0.0
    question: str = ""


def _distinct_interests(history: list[dict]) -> list[_Interest]:
    now = timezone.now()
    interests: list[_Interest] = []
    for row in history:  # newest first, so a repeated question keeps its latest wording
        vector = parse_vector(row["vector_text"])
        weight = _recency(now, row["created_at"])
        same = next((i for i in interests if float(i.vector @ vector) >= SAME_QUESTION), None)
        if same is not None:
            same.weight += weight  # asked again: a stronger interest
            continue
        interests.append(_Interest(row["query"], vector, weight))
        if len(interests) >= settings.RECOMMENDATION_INTERESTS:
            break
    return interests


def _recency(now: datetime, then: datetime) -> float:
    """1 for now, halving every RECOMMENDATION_HALF_LIFE_DAYS."""
    age = max((now - then) / timedelta(days=1), 0.0)
    return 0.5 ** (age / settings.RECOMMENDATION_HALF_LIFE_DAYS)


def _neighbours(user, vectors: list[np.ndarray]) -> list[_Candidate]:
    """Nearest visible articles of every interest vector, in one query (HNSW per LATERAL subquery)."""
    literal = "{" + ",".join('"' + _vector_literal(v) + '"' for v in vectors) + "}"
    sql = f"""
        SELECT DISTINCT ON (d.id) d.id, d.embedding, d.category_id
        FROM unnest(%s::vector[]) AS q(vec)
        CROSS JOIN LATERAL (
            SELECT id, embedding, category_id FROM faq_documents
            WHERE status = %s AND visibility = ANY(%s) AND embedding IS NOT NULL AND embedding_model = %s
            ORDER BY embedding <=> q.vec
            LIMIT {NEIGHBOURS_PER_QUESTION:d}
        ) AS d
    """  # noqa: S608 - the only interpolation is an integer constant
    # Raw SQL bypasses the router: ask it where a read of the articles goes (a replica, or the primary).
    with query_type("recommendations"), connections[read_alias(FaqDocument)].cursor() as cursor:
        cursor.execute(sql, [literal, FaqDocument.Status.PUBLISHED, visibilities_for(user), current_model_name()])
        rows = cursor.fetchall()
    return [_Candidate(doc_id, parse_vector(raw), category_id) for doc_id, raw, category_id in rows]


def _answered_documents(history: list[dict]) -> list[tuple[np.ndarray, int | None, float]]:
    """(vector, category id, weight) of the best match of each past question.

    An unanswered question's closest article still says which topic the user cares about, at half
    the weight of an article that answered them."""
    now = timezone.now()
    weights: dict[int, float] = {}
    for row in history:
        if row["matched"]:
            doc_id = row["matched"][0]["id"]
            share = 1.0 if row["answered"] else UNANSWERED_MATCH_WEIGHT
            weights[doc_id] = weights.get(doc_id, 0.0) + share * _recency(now, row["created_at"])
    rows = (
        FaqDocument.objects.filter(pk__in=weights, embedding__isnull=False)
        .annotate(vector_text=Cast("embedding", TextField()))
        .values_list("pk", "vector_text", "category_id")
    )
    return [(parse_vector(text), category, weights[pk]) for pk, text, category in rows]


def _topic_shares(answers: list[tuple[np.ndarray, int | None, float]]) -> dict[int | None, float]:
    total = sum(weight for _, _, weight in answers) or 1.0
    shares: dict[int | None, float] = {}
    for _, category, weight in answers:
        shares[category] = shares.get(category, 0.0) + weight / total
    return shares


def _centroid(interests: list[_Interest], answers: list[tuple[np.ndarray, int | None, float]]) -> np.ndarray:
    total = sum(i.weight * i.vector for i in interests) + sum(w * v for v, _, w in answers)
    return total / max(float(np.linalg.norm(total)), 1e-9)


def parse_vector(text: str) -> np.ndarray:
    """pgvector's text form '[0.1,0.2,...]', parsed in C (pgvector's own parser loops in Python)."""
    return np.array(text[1:-1].split(","), dtype=np.float32)


def _vector_literal(vector: np.ndarray) -> str:
    return "[" + ",".join(map(str, vector.tolist())) + "]"


def _seen_document_ids(user, history: list[dict]) -> set[int]:
    answered = {row["matched"][0]["id"] for row in history if row["answered"] and row["matched"]}
    with primary():
        read = set(ArticleView.objects.filter(user=user).values_list("document_id", flat=True).distinct()[:500])
    return answered | read


def _diverse(candidates: list[_Candidate], seen: set[int], limit: int) -> list[_Candidate]:
    """Greedy picks by score, each pushed down by how near a duplicate it is of an earlier pick."""
    for candidate in candidates:
        if candidate.id in seen:
            candidate.score *= SEEN_PENALTY
    pool = sorted(candidates, key=lambda c: c.score, reverse=True)
    picked: list[_Candidate] = []
    while pool and len(picked) < limit:

        def adjusted(c: _Candidate) -> float:
            likeness = max((float(c.vector @ p.vector) for p in picked), default=0.0)
            return c.score - DUPLICATE_PENALTY * max(0.0, likeness - NEAR_DUPLICATE)

        choice = max(pool, key=adjusted)
        picked.append(choice)
        pool.remove(choice)
    return picked


def _shorten(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"
