"""The list filters of the staff-insights pages: the queue's status, and article health's period
and "served recently"."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from faq.models import FaqDocument
from insights.conf import setting
from insights.models import GapCluster


class QueueStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("answered", "Answered by a newer article"), ("dismissed", "Dismissed as not a gap"), ("all", "All")]

    def choices(self, changelist):
        # The queue (open clusters) is the default, in the place Django gives "All".
        yield {
            "selected": self.value() is None,
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
            "display": "In the queue",
        }
        for value, label in self.lookup_choices:
            yield {
                "selected": self.value() == value,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": label,
            }

    def queryset(self, request: HttpRequest, queryset: QuerySet[GapCluster]) -> QuerySet[GapCluster]:
        if self.value() == "answered":
            return queryset.filter(answered_by__isnull=False)
        if self.value() == "dismissed":
            return queryset.filter(dismissal__isnull=False)
        if self.value() == "all":
            return queryset
        return queryset.open()


COUNT_PERIODS = {"7": "Last 7 days", "30": "Last 30 days", "90": "Last 90 days", "365": "Last 365 days"}
DEFAULT_COUNT_PERIOD = "90"


class CountedOverFilter(admin.SimpleListFilter):
    """The period views, answers and feedback are counted over (read by get_queryset)."""

    title = "counted over"
    parameter_name = "days"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return list(COUNT_PERIODS.items())

    def value(self) -> str:
        value = super().value()
        return value if value in COUNT_PERIODS else DEFAULT_COUNT_PERIOD

    def choices(self, changelist):
        for value, label in self.lookup_choices:
            yield {
                "selected": self.value() == value,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": label,
            }

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset


class ServedRecentlyFilter(admin.SimpleListFilter):
    parameter_name = "served"

    def __init__(self, request, params, model, model_admin) -> None:
        self.title = f"given as an answer in the last {setting('INSIGHTS_STALE_DAYS')} days"
        super().__init__(request, params, model, model_admin)

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("yes", "Yes"), ("no", "No (published articles not served)")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "yes":
            return queryset.filter(served_recently=True)
        if self.value() == "no":
            return queryset.filter(served_recently=False, status=FaqDocument.Status.PUBLISHED)
        return queryset
