"""A small help centre for the known-phrasings tests, and helpers to ask and rate as a customer."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from faq.feedback import answer_token
from faq.models import FaqDocument, KnownPhrasing, UserResponse

# A question no article is near: only a phrasing can make it answer.
ODD_QUESTION = "zebra crossing umbrella orchestra"


def help_centre() -> dict[str, FaqDocument]:
    rows = {
        "where-is-my-order": ("Where is my order?", "Track it from **Orders** in your account."),
        "reset-password": ("How do I reset my password?", "Choose **Forgot password?** on the sign-in page."),
        "staff-refund-override": (
            "How do staff override a refund limit?",
            "Internal: use the supervisor console.",
        ),
    }
    documents = {}
    for slug, (question, answer) in rows.items():
        visibility = FaqDocument.Visibility.STAFF if slug.startswith("staff") else FaqDocument.Visibility.PUBLIC
        documents[slug] = FaqDocument.objects.create(slug=slug, question=question, answer=answer, visibility=visibility)
    return documents


def customer(name: str) -> User:
    return User.objects.create_user(name, password="pw-" + name)


def answered(user: User | None, query: str, document: FaqDocument) -> UserResponse:
    """A question the help centre answered with `document` (as the answer pipeline stores it)."""
    from faq.embeddings import embed_query

    return UserResponse.objects.create(
        user=user,
        query=query,
        response=document.answer,
        query_embedding=embed_query(query),
        matched=[{"id": document.pk, "similarity": 0.8}],
        answered=True,
        answer_mode="extractive",
    )


def mark_helpful(user: User | None, response: UserResponse, *, address: str = "203.0.113.7") -> int:
    client = Client(REMOTE_ADDR=address)
    if user is not None:
        client.force_login(user)
    return client.post("/feedback", {"response": answer_token(response.pk), "helpful": "yes"}).status_code


def age(phrasings, hours: float) -> None:
    """Move phrasings back in time (confirmations spread over a day are not a burst)."""
    KnownPhrasing.objects.filter(pk__in=[p.pk for p in phrasings]).update(
        created_at=timezone.now() - timedelta(hours=hours)
    )
