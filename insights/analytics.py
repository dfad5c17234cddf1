"""Search analytics and article health, aggregated in SQL.

"Searches after which nothing was opened": ArticleView stores the reader (signed-in users only)
and the time, not a session, and anonymous visitors are deliberately not followed from page to
page. So the figure covers signed-in customers' searches: a search opened nothing when the same
user opened no article page within INSIGHTS_OPENED_WITHIN_MINUTES after it. Anonymous searches are
counted apart as "not attributable".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import (
    BigIntegerField,
    Count,
    Exists,
    F,
    FloatField,
    IntegerField,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.fields.json import KT, KeyTextTransform, KeyTransform
from django.db.models.functions import Cast, Lower, NullIf, Trim, TruncDate
from django.utils import timezone

from faq.models import ArticleView, FaqDocument, Feedback, UserResponse
from insights.conf import setting

TOP = 20


def top_answer_id() -> Cast:
    """The article given as the answer: matched[0].id (matched is in ranked order)."""
    return Cast(KT("matched__0__id"), BigIntegerField())


class SubqueryCount(Subquery):
    """COUNT(*) of a correlated subquery (a per-row count without GROUP BY on the outer query)."""

    template = "(SELECT count(*) FROM (%(subquery)s) _count)"
    output_field = IntegerField()


@dataclass(frozen=True)
class Period:
    """Whole days, `start` to `end` inclusive, in the site's time zone."""

    start: date
    end: date

    @property
    def since(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.start, time.min))

    @property
    def until(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.end + timedelta(days=1), time.min))

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]

    def slug(self) -> str:
        return f"{self.start.isoformat()}-to-{self.end.isoformat()}"


def searches_in(period: Period) -> QuerySet[UserResponse]:
    return UserResponse.objects.filter(created_at__gte=period.since, created_at__lt=period.until)


def _with_opened(searches: QuerySet[UserResponse]) -> QuerySet[UserResponse]:
    """`opened`: the same signed-in user opened an article page soon after this search."""
    window = timedelta(minutes=setting("INSIGHTS_OPENED_WITHIN_MINUTES"))
    views = ArticleView.objects.filter(
        user=OuterRef("user"),
        created_at__gte=OuterRef("created_at"),
        created_at__lt=OuterRef("created_at") + window,
    )
    return searches.annotate(opened=Exists(views))


def _search_counts() -> dict:
    return {
        "searches": Count("pk"),
        "answers": Count("pk", filter=Q(answered=True)),
        # Degraded searches (model down, keyword-only) are not abstentions: counted apart.
        "abstained": Count("pk", filter=Q(answered=False) & ~Q(answer_mode=UserResponse.Mode.KEYWORD)),
        "degraded": Count("pk", filter=Q(answer_mode=UserResponse.Mode.KEYWORD)),
        "signed_in": Count("pk", filter=Q(user__isnull=False)),
        "nothing_opened": Count("pk", filter=Q(user__isnull=False, opened=False)),
    }


def _feedback_counts() -> dict:
    return {
        "helpful_answers": Count("pk", filter=Q(helpful=True, response__isnull=False)),
        "not_helpful_answers": Count("pk", filter=Q(helpful=False, response__isnull=False)),
        "helpful_articles": Count("pk", filter=Q(helpful=True, response__isnull=True)),
        "not_helpful_articles": Count("pk", filter=Q(helpful=False, response__isnull=True)),
    }


def feedback_in(period: Period) -> QuerySet[Feedback]:
    return Feedback.objects.filter(created_at__gte=period.since, created_at__lt=period.until)


def _rates(row: dict) -> dict:
    searches = row["searches"]
    row["answer_rate"] = row["answers"] / searches if searches else None
    row["abstain_rate"] = row["abstained"] / searches if searches else None
    row["nothing_opened_rate"] = row["nothing_opened"] / row["signed_in"] if row["signed_in"] else None
    row["anonymous"] = searches - row["signed_in"]
    rated = row["helpful_answers"] + row["not_helpful_answers"]
    row["helpful_rate"] = row["helpful_answers"] / rated if rated else None
    return row


def summary(period: Period) -> dict:
    """The period's figures in two queries (searches, feedback)."""
    row = _with_opened(searches_in(period)).aggregate(**_search_counts())
    row.update(feedback_in(period).aggregate(**_feedback_counts()))
    return _rates(row)


def daily(period: Period) -> list[dict]:
    """One row per day of the period (days without searches included, as zeros)."""
    zone = timezone.get_current_timezone()
    searches = {
        row["day"]: row
        for row in _with_opened(searches_in(period))
        .annotate(day=TruncDate("created_at", tzinfo=zone))
        .order_by()
        .values("day")
        .annotate(**_search_counts())
    }
    feedback = {
        row["day"]: row
        for row in feedback_in(period)
        .annotate(day=TruncDate("created_at", tzinfo=zone))
        .order_by()
        .values("day")
        .annotate(**_feedback_counts())
    }
    empty = {**dict.fromkeys(_search_counts(), 0), **dict.fromkeys(_feedback_counts(), 0)}
    rows = []
    for day in period.days:
        row = {**empty, **searches.get(day, {}), **feedback.get(day, {}), "day": day}
        rows.append(_rates(row))
    return rows


def top_questions(period: Period, *, limit: int = TOP) -> list[dict]:
    """The most asked questions (the same words in any case or spacing count as one)."""
    return list(
        searches_in(period)
        .annotate(text=Lower(Trim("query")))
        .order_by()
        .values("text")
        .annotate(
            searches=Count("pk"),
            answers=Count("pk", filter=Q(answered=True)),
            question=Min("query"),
        )
        .order_by("-searches", "text")[:limit]
    )


def top_articles(period: Period, *, limit: int = TOP) -> list[dict]:
    """The articles most often given as the answer, with their titles (None when since deleted)."""
    rows = list(
        searches_in(period)
        .filter(answered=True)
        .annotate(document_id=top_answer_id())
        .order_by()
        .values("document_id")
        .annotate(times=Count("pk"))
        .order_by("-times", "document_id")[:limit]
    )
    documents = FaqDocument.objects.only("pk", "question", "slug").in_bulk([row["document_id"] for row in rows])
    for row in rows:
        row["document"] = documents.get(row["document_id"])
    return rows


def served(*, since: datetime | None = None) -> QuerySet[UserResponse]:
    """Answered questions, each with the `document_id` it was answered with."""
    answered = UserResponse.objects.filter(answered=True)
    if since is not None:
        answered = answered.filter(created_at__gte=since)
    return answered.annotate(document_id=top_answer_id())


def with_health(documents: QuerySet[FaqDocument], *, since: datetime, stale_since: datetime) -> QuerySet:
    """Per article, since `since`: page views, times given as the answer, helpful and not helpful
    (on the article, and on answers it gave), the helpful ratio; and when it was last served."""
    views = ArticleView.objects.filter(document=OuterRef("pk"), created_at__gte=since)
    answers = served(since=since).filter(document_id=OuterRef("pk"))
    feedback = (
        Feedback.objects.filter(created_at__gte=since)
        # KT() cannot follow a relation: the same matched[0].id, read through the join.
        .annotate(answer_id=Cast(KeyTextTransform("id", KeyTransform("0", "response__matched")), BigIntegerField()))
        .filter(Q(document=OuterRef("pk")) | Q(response__answered=True, answer_id=OuterRef("pk")))
    )
    last_served = served().filter(document_id=OuterRef("pk")).order_by("-created_at").values("created_at")[:1]
    return documents.annotate(
        views_count=SubqueryCount(views.values("pk")),
        served_count=SubqueryCount(answers.values("pk")),
        helpful_count=SubqueryCount(feedback.filter(helpful=True).values("pk")),
        not_helpful_count=SubqueryCount(feedback.filter(helpful=False).values("pk")),
        last_served=Subquery(last_served),
        served_recently=Exists(served(since=stale_since).filter(document_id=OuterRef("pk"))),
    ).annotate(
        helpful_ratio=Cast(F("helpful_count"), FloatField())
        / NullIf(F("helpful_count") + F("not_helpful_count"), 0, output_field=FloatField())
    )


def never_served_count(*, stale_since: datetime) -> int:
    """Published articles not given as an answer since `stale_since`."""
    recent = served(since=stale_since).filter(document_id=OuterRef("pk"))
    return FaqDocument.objects.filter(status=FaqDocument.Status.PUBLISHED).filter(~Exists(recent)).count()
