"""A user's question history: reading it for the dashboard, clearing it, and retention."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from faq.models import ArticleView, UserResponse
from supportsite.db_router import primary


def recent_questions(user, *, limit: int = 20) -> list[UserResponse]:
    # From the primary: the question just asked is on the dashboard at once, replicas or not.
    with primary():
        return list(UserResponse.objects.filter(user=user).defer("query_embedding").order_by("-created_at")[:limit])


@transaction.atomic
def clear_history(user) -> int:
    """Delete the user's questions and reading history (recommendations fall back to popular)."""
    deleted, _ = UserResponse.objects.filter(user=user).delete()
    ArticleView.objects.filter(user=user).delete()
    return deleted


def purge_older_than(days: int, *, dry_run: bool = False, batch_size: int = 5000) -> tuple[int, int]:
    """Delete history rows older than `days`, in batches so no long lock is held; returns counts."""
    cutoff = timezone.now() - timedelta(days=days)
    totals = []
    for model in (UserResponse, ArticleView):
        old = model.objects.filter(created_at__lt=cutoff)
        if dry_run:
            totals.append(old.count())
            continue
        removed = 0
        while True:
            ids = list(old.values_list("pk", flat=True)[:batch_size])
            if not ids:
                break
            model.objects.filter(pk__in=ids).delete()
            removed += len(ids)
        totals.append(removed)
    return totals[0], totals[1]
