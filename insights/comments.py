"""What customers said when an answer or article did not help: shown to staff beside the content
gaps and article health they concern ("No" on feedback asks what they were looking for)."""

from __future__ import annotations

from django.db.models import OuterRef, QuerySet, Subquery
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from faq.models import Feedback
from insights.models import GapCluster, GapClusterMember

COMMENTS_SHOWN = 10


def not_helpful_comments() -> QuerySet[Feedback]:
    return Feedback.objects.filter(helpful=False).exclude(comment="").order_by("-updated_at", "-pk")


def with_latest_comment(documents: QuerySet) -> QuerySet:
    """Each article with `latest_comment`: the newest "what were you looking for" on it, or None."""
    latest = not_helpful_comments().filter(document=OuterRef("pk")).values("comment")[:1]
    return documents.annotate(latest_comment=Subquery(latest))


def gap_comments_html(cluster: GapCluster) -> SafeString:
    """The comments left on this gap's own answers, newest first."""
    responses = GapClusterMember.objects.filter(cluster=cluster).values("response_id")
    comments = list(not_helpful_comments().filter(response_id__in=responses).values_list("comment", flat=True))
    if not comments:
        return format_html("<em>{}</em>", "No customer said what they were looking for.")
    items = format_html_join("", "<li>{}</li>", ((comment,) for comment in comments[:COMMENTS_SHOWN]))
    return format_html("<ul>{}</ul>", items)
