"""Question history for the staff-insights tests: rows as `ask()` stores them, with real MiniLM
query embeddings, dated in the past and with the outcome each test needs."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from faq.embeddings import embed_query
from faq.models import ArticleView, FaqDocument, Feedback, UserResponse

# Phrasings of three gaps, each close enough to its siblings (MiniLM cosine >= 0.8) to cluster.
KLARNA = ["can i pay with klarna", "Can I pay with Klarna?", "klarna payment possible?", "pay later with klarna"]
ISLANDS = [
    "do you deliver to the channel islands",
    "can you ship to the channel islands",
    "delivery to the channel islands?",
]
ENGRAVING = ["can you engrave a name on the cutting board", "do you offer engraving on chopping boards"]


def asked(
    query: str,
    *,
    answered: bool = False,
    similarity: float = 0.3,
    document: FaqDocument | None = None,
    user=None,
    days_ago: float = 1.0,
    at: datetime | None = None,
    mode: str = UserResponse.Mode.EXTRACTIVE,
    not_helpful: bool = False,
    helpful: bool = False,
) -> UserResponse:
    """One stored question, asked `at` (or `days_ago`). `similarity` is the best match's, which
    decided answered or not; `document` the article given (or closest)."""
    matched = [{"id": document.pk if document else 999_999, "similarity": similarity}]
    row = UserResponse.objects.create(
        user=user,
        query=query,
        response="An answer." if answered else "Sorry, we could not find an answer.",
        query_embedding=None if mode == UserResponse.Mode.KEYWORD else embed_query(query),
        matched=matched,
        answered=answered,
        answer_mode=mode,
    )
    at = at or timezone.now() - timedelta(days=days_ago)
    UserResponse.objects.filter(pk=row.pk).update(created_at=at)  # auto_now_add set "now"
    row.created_at = at
    if not_helpful or helpful:
        rated = Feedback.objects.create(response=row, user=user, helpful=helpful)
        Feedback.objects.filter(pk=rated.pk).update(created_at=at + timedelta(minutes=1))
    return row


def viewed(document: FaqDocument, *, user=None, at) -> ArticleView:
    view = ArticleView.objects.create(document=document, user=user)
    ArticleView.objects.filter(pk=view.pk).update(created_at=at)
    return view


def feedback_on(document: FaqDocument, *, helpful: bool, at=None) -> Feedback:
    row = Feedback.objects.create(document=document, helpful=helpful)
    if at is not None:
        Feedback.objects.filter(pk=row.pk).update(created_at=at)
    return row


def published_long_ago(document: FaqDocument, *, days: float) -> FaqDocument:
    """Make an article look published `days` ago (update() skips auto_now and the save signal)."""
    FaqDocument.objects.filter(pk=document.pk).update(updated_at=timezone.now() - timedelta(days=days))
    document.refresh_from_db()
    return document
