"""Lists shown on pages: popular articles, related articles, and categories with their counts.

All start from `FaqDocument.objects.visible_to(user)`, so drafts and articles the reader may
not see never appear (nor do categories holding only those). Recommendations reuse
`popular_documents` as their cold-start list.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from django.db.models import BigIntegerField, Case, Count, IntegerField, Value, When
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.utils import timezone

from faq.models import LISTING_DEFER, ArticleView, Category, FaqDocument, UserResponse


def popular_documents(user, *, days: int = 30, limit: int = 5) -> list[FaqDocument]:
    """The visible articles read or given as the answer most often in the last `days` days; then
    the ones staff featured, then the most recently updated, to fill up to `limit`. Three queries,
    whatever the history's size.

    Only answered questions count: an abstention's closest article was not given as an answer.
    """
    if limit <= 0:
        return []
    visible = FaqDocument.objects.visible_to(user)
    visible_ids = visible.order_by().values("pk")  # a semi-join: hidden articles cannot crowd visible ones out
    since = timezone.now() - timedelta(days=days)
    # matched is [{"id": 12, "similarity": 0.71}, ...] in ranked order: matched->0->>'id' is the top match.
    answers = (
        UserResponse.objects.filter(created_at__gte=since, answered=True)
        .annotate(doc_id=Cast(KT("matched__0__id"), BigIntegerField()))
        .filter(doc_id__in=visible_ids)
        .values("doc_id")
        .annotate(times=Count("pk"))
        .order_by("-times", "doc_id")
        .values_list("doc_id", "times")[: limit * 4]
    )
    reads = (
        ArticleView.objects.filter(created_at__gte=since, document_id__in=visible_ids)
        .values("document_id")
        .annotate(times=Count("pk"))
        .order_by("-times", "document_id")
        .values_list("document_id", "times")[: limit * 4]
    )
    # Each list is cut at 4x the limit: an article below that in both cannot reach the top `limit`
    # by much, and the lists stay short however many articles there are.
    counts: Counter[int] = Counter()
    for doc_id, n in [*answers, *reads]:
        counts[doc_id] += n
    times = Case(
        *[When(pk=doc_id, then=Value(n)) for doc_id, n in counts.most_common(limit)],
        default=Value(0),
        output_field=IntegerField(),
    )
    return list(
        visible.select_related("category")
        .defer(*LISTING_DEFER)
        .annotate(times_used=times)
        .order_by("-times_used", "-featured", "-updated_at", "pk")[:limit]
    )


def related_documents(document: FaqDocument, *, user, limit: int = 4) -> list[FaqDocument]:
    """The `limit` visible articles nearest to `document` by cosine distance (never itself)."""
    if limit <= 0 or not document.is_embedded:
        return []
    # ORDER BY embedding <=> v LIMIT k: served by the HNSW index (iterative scans keep the filters).
    return list(
        FaqDocument.objects.visible_to(user)
        .similar_to(document)
        .select_related("category")
        .defer(*LISTING_DEFER)[:limit]
    )


def categories_with_counts(user) -> list[Category]:
    """Categories holding at least one article `user` may see, each with `article_count` set.

    A category with only hidden articles is left out: its name alone may be internal.
    """
    counts = dict(
        FaqDocument.objects.visible_to(user)
        .filter(category__isnull=False)
        .order_by()  # no default ordering, or GROUP BY would include the question
        .values("category")
        .annotate(n=Count("pk"))
        .values_list("category", "n")
    )
    categories = [category for category in Category.objects.all() if counts.get(category.pk)]
    for category in categories:
        category.article_count = counts[category.pk]
    return categories
