"""Staff insights in Django admin: the content-gap queue, search analytics and article health.

Each is a ModelAdmin, so each is listed on the admin index under "Staff insights" and guarded by
admin's own staff check and view permission (insights.view_gapcluster, view_searchanalytics,
view_articlehealth). None can add, change or delete anything: the queue is rebuilt by
`cluster_questions`, the figures are read from the history.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, QuerySet, Value
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_GET, require_safe

from faq.admin_dates import short_date
from faq.models import LISTING_DEFER, FaqDocument
from insights import analytics, comments
from insights.answered_by import answered_by_article
from insights.conf import setting
from insights.drafts import EXAMPLES_FETCHED, closest_articles, draft_for, example_questions
from insights.exports import CSV_KINDS, csv_response
from insights.filters import (
    COUNT_PERIODS,
    DEFAULT_COUNT_PERIOD,
    CountedOverFilter,
    QueueStatusFilter,
    ServedRecentlyFilter,
)
from insights.forms import period_form
from insights.gaps import dismiss, restore
from insights.models import ArticleHealth, ClusterRun, GapCluster, GapClusterMember, SearchAnalytics

ALL_QUESTIONS_SHOWN = 200


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


# --- The content-gap queue -------------------------------------------------------------------


@admin.register(GapCluster)
class GapClusterAdmin(ReadOnlyAdmin):
    list_display = ["asked", "customers", "questions", "why", "nearest_articles", "last_asked_on"]
    list_display_links = None
    list_filter = [QueueStatusFilter]
    list_per_page = 25
    actions = ["dismiss_gaps", "restore_gaps", answered_by_article]
    fields = ["summary", "nearest_articles", "answered_by", "all_questions", "customer_comments"]
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[GapCluster]:
        # Each page's examples in one query (a window function per cluster), joined to the live history.
        members = (
            GapClusterMember.objects.select_related("response")
            .only("cluster_id", "similarity", "response__query")
            .order_by("-similarity", "response_id")
        )
        return (
            super()
            .get_queryset(request)
            .select_related("answered_by", "dismissal__dismissed_by")
            .defer(*(f"answered_by__{name}" for name in LISTING_DEFER), "dismissal__centroid")
            .prefetch_related(Prefetch("members", queryset=members[:EXAMPLES_FETCHED], to_attr="top_members"))
        )

    def get_list_display(self, request: HttpRequest) -> list[str]:
        columns = list(self.list_display)
        if request.GET.get("status") in ("answered", "all"):
            columns.append("answered_by_link")
        if request.GET.get("status") in ("dismissed", "all"):
            columns.append("dismissed")
        if request.user.has_perm("faq.add_faqdocument"):
            columns.append("draft")
        return columns

    def changelist_view(self, request: HttpRequest, extra_context=None):
        # A GET only reads: answered clusters were closed when their article was published
        # (insights/signals.py), one by one or in bulk.
        extra_context = {
            "title": "Content-gap queue",
            **(extra_context or {}),
            "last_run": ClusterRun.objects.order_by("-finished_at").first(),
        }
        return super().changelist_view(request, extra_context)

    def get_urls(self):
        return [
            path(
                "<path:object_id>/draft/",
                self.admin_site.admin_view(self.draft_view),
                name="insights_gapcluster_draft",
            ),
            *super().get_urls(),
        ]

    @admin.display(description="Customers asked")
    def asked(self, cluster: GapCluster) -> SafeString:
        examples = example_questions(cluster)
        if not examples:
            return format_html("<em>{}</em>", "The questions were deleted from the history.")
        url = reverse("admin:insights_gapcluster_change", args=[cluster.pk])
        others = format_html_join("", '<li class="gap-example">{}</li>', ((text,) for text in examples[1:]))
        return format_html(
            '<a class="gap-title" href="{}">{}</a><ul class="gap-examples">{}</ul>', url, examples[0], others
        )

    @admin.display(description="Why")
    def why(self, cluster: GapCluster) -> SafeString:
        parts = [
            (count, label)
            for count, label in (
                (cluster.abstained, "no answer"),
                (cluster.low_confidence, "low confidence"),
                (cluster.not_helpful, "not helpful"),
            )
            if count
        ]
        return format_html_join(mark_safe("<br>"), "{} {}", parts)

    @admin.display(description="Closest articles")
    def nearest_articles(self, cluster: GapCluster) -> SafeString:
        neighbours = closest_articles(cluster)
        if not neighbours:
            return format_html("<em>{}</em>", "No embedded articles yet.")
        rows = []
        for neighbour in neighbours:
            doc = neighbour.document
            tags = []
            if doc.status != FaqDocument.Status.PUBLISHED:
                tags.append(doc.get_status_display().lower())
            if doc.visibility == FaqDocument.Visibility.STAFF:
                tags.append("staff only")
            tag = format_html(' <span class="gap-tag">{}</span>', ", ".join(tags)) if tags else ""
            url = reverse("admin:faq_faqdocument_change", args=[doc.pk])
            rows.append((url, doc.question, f"{neighbour.similarity:.2f}", tag))
        items = format_html_join("", '<li class="gap-article"><a href="{}">{}</a> — similarity {}{}</li>', rows)
        return format_html('<ul class="gap-articles">{}</ul>', items)

    @admin.display(description="Answered by")
    def answered_by_link(self, cluster: GapCluster) -> SafeString | str:
        if cluster.answered_by is None:
            return "—"
        url = reverse("admin:faq_faqdocument_change", args=[cluster.answered_by.pk])
        return format_html('<a href="{}">{}</a>', url, cluster.answered_by.question)

    def has_dismiss_permission(self, request: HttpRequest) -> bool:
        # Clusters have no edit form; "change" is the right to dismiss and restore them.
        return request.user.has_perm("insights.change_gapcluster")

    @admin.action(description="Dismiss as not a gap (until customers ask again)", permissions=["dismiss"])
    def dismiss_gaps(self, request: HttpRequest, queryset: QuerySet[GapCluster]) -> None:
        done = dismiss(queryset, user=request.user)
        self.message_user(
            request,
            f"{done} content gap(s) dismissed: they stay out of the queue until a customer asks again.",
            messages.SUCCESS,
        )

    @admin.action(description="Return to the queue (undo a dismissal)", permissions=["dismiss"])
    def restore_gaps(self, request: HttpRequest, queryset: QuerySet[GapCluster]) -> None:
        done = restore(queryset)
        self.message_user(request, f"{done} content gap(s) returned to the queue.", messages.SUCCESS)

    @admin.display(description="Dismissed")
    def dismissed(self, cluster: GapCluster) -> str:
        if cluster.dismissal is None:
            return "—"
        by = cluster.dismissal.dismissed_by
        when = f"{timezone.localtime(cluster.dismissal.dismissed_at):%Y-%m-%d %H:%M}"
        return f"{when} by {by.get_username()}" if by else when

    @admin.display(description="Last asked", ordering="last_asked")
    def last_asked_on(self, cluster: GapCluster) -> SafeString | str:
        return short_date(cluster.last_asked)

    @admin.display(description="Draft")
    def draft(self, cluster: GapCluster) -> SafeString:
        url = reverse("admin:insights_gapcluster_draft", args=[cluster.pk])
        return format_html('<a class="button gap-draft" href="{}">{}</a>', url, "Draft an article from this")

    @admin.display(description="Summary")
    def summary(self, cluster: GapCluster) -> SafeString:
        return format_html(
            "{} question(s) from {} asker(s) (signed-in customers, plus each anonymous question), "
            "asked {} to {}.<br>{}",
            cluster.questions,
            cluster.customers,
            f"{timezone.localtime(cluster.first_asked):%Y-%m-%d}",
            f"{timezone.localtime(cluster.last_asked):%Y-%m-%d}",
            self.why(cluster),
        )

    @admin.display(description="What customers were looking for")
    def customer_comments(self, cluster: GapCluster) -> SafeString:
        return comments.gap_comments_html(cluster)

    @admin.display(description="Questions (closest to the centre first)")
    def all_questions(self, cluster: GapCluster) -> SafeString:
        members = (
            GapClusterMember.objects.filter(cluster=cluster)
            .select_related("response")
            .only("similarity", "reason", "response__query", "response__created_at")
            .order_by("-similarity", "response_id")[:ALL_QUESTIONS_SHOWN]
        )
        rows = [
            (
                member.response.query,
                member.get_reason_display(),
                f"{member.similarity:.2f}",
                f"{timezone.localtime(member.response.created_at):%Y-%m-%d %H:%M}",
            )
            for member in members
        ]
        if not rows:
            return format_html("<em>{}</em>", "The questions were deleted from the history.")
        items = format_html_join("", "<li>{} <small>({}; similarity {}; {})</small></li>", rows)
        more = (
            format_html("<p>… and {} more.</p>", cluster.questions - len(rows)) if cluster.questions > len(rows) else ""
        )
        return format_html('<ol class="gap-questions">{}</ol>{}', items, more)

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context=None):
        extra_context = {**(extra_context or {}), "can_draft": request.user.has_perm("faq.add_faqdocument")}
        return super().change_view(request, object_id, form_url, extra_context)

    @method_decorator(require_GET)
    def draft_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Open the article add form prefilled from this cluster (nothing is saved here)."""
        cluster = self.get_object(request, unquote(object_id))
        if cluster is None:
            raise Http404("There is no such content gap (the queue may have been rebuilt since).")
        if not self.has_view_permission(request, cluster) or not request.user.has_perm("faq.add_faqdocument"):
            raise PermissionDenied
        draft = draft_for(cluster)
        if not draft.question:
            messages.error(request, "This content gap's questions were deleted from the history: nothing to draft.")
            return redirect("admin:insights_gapcluster_changelist")
        for problem in draft.problems:
            messages.warning(request, problem)
        return redirect(reverse("admin:faq_faqdocument_add") + "?" + draft.add_form_query())


# --- Search analytics --------------------------------------------------------------------------


@admin.register(SearchAnalytics)
class SearchAnalyticsAdmin(ReadOnlyAdmin):
    """A page of figures for a chosen period (the changelist), with CSV exports."""

    def get_urls(self):
        return [
            path(
                "export/<str:kind>/",
                self.admin_site.admin_view(self.export_view),
                name="insights_searchanalytics_export",
            ),
            *super().get_urls(),
        ]

    def _check(self, request: HttpRequest) -> None:
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied

    def changelist_view(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        return self._analytics(request)

    @method_decorator(require_safe)
    def _analytics(self, request: HttpRequest) -> HttpResponse:
        self._check(request)
        form = period_form(request.GET)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Search analytics",
            "form": form,
            "opened_within": setting("INSIGHTS_OPENED_WITHIN_MINUTES"),
            "csv_kinds": CSV_KINDS,
        }
        if not form.is_valid():
            return TemplateResponse(request, "admin/insights/search_analytics.html", context, status=400)
        period = form.period()
        summary = analytics.summary(period)
        context.update(
            period=period,
            query=request.GET.urlencode() or f"start={period.start.isoformat()}&end={period.end.isoformat()}",
            summary=summary,
            rates={key: _percent(summary[key]) for key in summary if key.endswith("_rate")},
            daily=analytics.daily(period),
            top_questions=analytics.top_questions(period),
            top_articles=analytics.top_articles(period),
        )
        return TemplateResponse(request, "admin/insights/search_analytics.html", context)

    @method_decorator(require_GET)
    def export_view(self, request: HttpRequest, kind: str) -> HttpResponse:
        self._check(request)
        if kind not in CSV_KINDS:
            raise Http404(f"There is no “{kind}” export; choose one of: {', '.join(CSV_KINDS)}.")
        form = period_form(request.GET)
        if not form.is_valid():
            # The same page, with the problem named, instead of a broken file.
            return self._analytics(request)
        return csv_response(kind, form.period())


# --- Article health ----------------------------------------------------------------------------


@admin.register(ArticleHealth)
class ArticleHealthAdmin(ReadOnlyAdmin):
    list_display = [
        "article",
        "status",
        "views",
        "times_served",
        "helpful",
        "not_helpful",
        "helpful_ratio",
        "last_served",
        "what_readers_missed",
    ]
    list_display_links = None
    list_filter = [CountedOverFilter, ServedRecentlyFilter, "status", "category"]
    search_fields = ["question", "slug"]
    list_per_page = 50

    def get_ordering(self, request: HttpRequest) -> list[str]:
        # Most served first; `served_count` is an annotation, which the `ordering` attribute may not name.
        return ["-served_count", "question"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        days = request.GET.get("days")
        days = int(days if days in COUNT_PERIODS else DEFAULT_COUNT_PERIOD)
        now = timezone.now()
        # Not super(): it orders before the annotations the ordering names exist.
        documents = self.model._default_manager.select_related("category").defer(*LISTING_DEFER)
        documents = comments.with_latest_comment(documents)
        return analytics.with_health(
            documents,
            since=now - timedelta(days=days),
            stale_since=now - timedelta(days=setting("INSIGHTS_STALE_DAYS")),
        ).order_by(*self.get_ordering(request))

    @admin.display(description="What readers missed (latest)")
    def what_readers_missed(self, document) -> str:
        # The newest comment left with a "No" on this article (insights/comments.py).
        return document.latest_comment or "—"

    def changelist_view(self, request: HttpRequest, extra_context=None):
        stale_days = setting("INSIGHTS_STALE_DAYS")
        extra_context = {
            "title": "Article health",
            **(extra_context or {}),
            "stale_days": stale_days,
            "not_served": analytics.never_served_count(stale_since=timezone.now() - timedelta(days=stale_days)),
        }
        return super().changelist_view(request, extra_context)

    @admin.display(description="Article", ordering="question")
    def article(self, doc: FaqDocument) -> SafeString:
        return format_html(
            '<a href="{}">{}</a> <small>(<a href="{}">page</a>)</small>',
            reverse("admin:faq_faqdocument_change", args=[doc.pk]),
            doc.question,
            doc.get_absolute_url(),
        )

    @admin.display(description="Views", ordering="views_count")
    def views(self, doc) -> int:
        return doc.views_count

    @admin.display(description="Given as answer", ordering="served_count")
    def times_served(self, doc) -> int:
        return doc.served_count

    @admin.display(description="Helpful", ordering="helpful_count")
    def helpful(self, doc) -> int:
        return doc.helpful_count

    @admin.display(description="Not helpful", ordering="not_helpful_count")
    def not_helpful(self, doc) -> int:
        return doc.not_helpful_count

    # Articles without feedback (no ratio) sort below 0%, whichever the direction's NULL placement.
    @admin.display(description="Helpful ratio", ordering=Coalesce("helpful_ratio", Value(-1.0)))
    def helpful_ratio(self, doc) -> str:
        return _percent(doc.helpful_ratio)

    @admin.display(description="Last given as answer", ordering="last_served")
    def last_served(self, doc) -> str:
        return f"{timezone.localtime(doc.last_served):%Y-%m-%d}" if doc.last_served else "never"
