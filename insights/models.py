"""Staff insights: the content-gap queue (clusters of questions the help centre did not answer
well) and the proxies that give search analytics and article health their admin pages.

A cluster stores no question text: its examples are read from the live history rows, so a
customer who clears their history (or `purge_history`) removes their words from the queue at once.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from faq.fields import EmbeddingField
from faq.models import FaqDocument, UserResponse


class Reason(models.TextChoices):
    """Why a question is in the queue (one per question, in this order of precedence)."""

    NOT_HELPFUL = "not_helpful", "Marked not helpful"
    ABSTAINED = "abstained", "No answer"
    LOW_CONFIDENCE = "low_confidence", "Low-confidence answer"


class ClusterRun(models.Model):
    """One run of `cluster_questions`: what it read and made; the queue page shows the latest."""

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    questions = models.PositiveIntegerField()
    clusters = models.PositiveIntegerField()
    answered = models.PositiveIntegerField(help_text="Clusters a newer article already answered.")
    seconds = models.FloatField()
    # Articles published or edited before this moment have been checked against the open clusters;
    # the queue page checks the ones changed since (bulk publishing sends no save signal).
    articles_checked_at = models.DateTimeField()

    class Meta:
        ordering = ["-finished_at"]
        get_latest_by = "finished_at"

    def __str__(self) -> str:
        return f"{self.clusters} clusters of {self.questions} questions at {self.finished_at:%Y-%m-%d %H:%M}"


class GapDismissal(models.Model):
    """Staff said "not a gap" (job applications, spam, questions the help centre will not answer)
    for questions like a cluster's. Clusters are rebuilt by every run; this is kept, and a new
    cluster around the same centre stays out of the queue until a customer asks again after it."""

    # A model change (`reembed --all`) empties this table: a centre from another model matches nothing.
    VECTORS_ARE_DERIVED = True

    centroid = EmbeddingField()
    dismissed_at = models.DateTimeField(default=timezone.now)
    dismissed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    questions = models.PositiveIntegerField(help_text="How many questions the dismissed cluster held.")

    class Meta:
        ordering = ["-dismissed_at"]

    def __str__(self) -> str:
        return f"dismissed {self.dismissed_at:%Y-%m-%d %H:%M} ({self.questions} questions)"


class GapClusterQuerySet(models.QuerySet):
    def open(self) -> GapClusterQuerySet:
        """The queue: clusters no newer article answers yet and staff have not dismissed."""
        return self.filter(answered_by__isnull=True, dismissal__isnull=True)


class GapCluster(models.Model):
    """Similar questions the help centre abstained on, answered with low confidence, or that were
    marked not helpful. Replaced as a whole by each run of `cluster_questions`."""

    # A model change (`reembed --all`) empties the queue; the next `cluster_questions` rebuilds it.
    VECTORS_ARE_DERIVED = True

    # The id of the cluster's first question, so the same input gives the same ids (and links).
    id = models.BigIntegerField(primary_key=True)
    questions = models.PositiveIntegerField()
    # Distinct signed-in customers, plus each anonymous question (anonymous askers cannot be told apart).
    # Shown as "askers": anonymous questions are not customers, and cannot be told apart.
    customers = models.PositiveIntegerField(
        "askers", help_text="Distinct signed-in customers, plus each anonymous question."
    )
    abstained = models.PositiveIntegerField(default=0)
    low_confidence = models.PositiveIntegerField(default=0)
    not_helpful = models.PositiveIntegerField(default=0)
    # The mean direction of the members' query embeddings (unit length).
    centroid = EmbeddingField()
    first_asked = models.DateTimeField()
    last_asked = models.DateTimeField()
    # A published article, changed after the last question, that reaches the similarity cut-off.
    answered_by = models.ForeignKey(
        FaqDocument, null=True, blank=True, on_delete=models.SET_NULL, related_name="answered_gaps"
    )
    answered_at = models.DateTimeField(null=True, blank=True)
    # Dismissed as not a gap, and nobody has asked again since.
    dismissal = models.ForeignKey(GapDismissal, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    run = models.ForeignKey(ClusterRun, on_delete=models.CASCADE, related_name="gap_clusters")

    objects = GapClusterQuerySet.as_manager()

    class Meta:
        verbose_name = "content gap"
        # "Content gaps", so admin's counts read "3 content gaps", never "0 content-gap queue".
        verbose_name_plural = "content gaps"
        ordering = ["-customers", "-questions", "id"]
        indexes = [
            # The queue page: open clusters, most customers first.
            models.Index(
                fields=["-customers", "-questions", "id"],
                name="insights_gap_queue",
                condition=models.Q(answered_by__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"Content gap #{self.pk} ({self.customers} customers)"


class GapClusterMember(models.Model):
    # Members are only ever replaced together with their clusters (cluster_questions deletes both):
    # DO_NOTHING lets Django delete either table with one DELETE instead of collecting rows first.
    cluster = models.ForeignKey(GapCluster, on_delete=models.DO_NOTHING, related_name="members")
    # No database constraint and no cascade from Django: deleting history (purge_history, "clear my
    # history") stays one fast DELETE; a deleted question simply stops appearing (inner joins).
    response = models.OneToOneField(UserResponse, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    # Cosine similarity of the question to its cluster's centre (examples are the closest).
    similarity = models.FloatField()
    reason = models.CharField(max_length=16, choices=Reason.choices)

    class Meta:
        indexes = [
            # A cluster's examples: its members closest to the centre first.
            models.Index(fields=["cluster", "-similarity"], name="insights_member_closest"),
        ]

    def __str__(self) -> str:
        return f"question {self.response_id} in cluster {self.cluster_id}"


class SearchAnalytics(UserResponse):
    """Search analytics in admin (a page of figures, not a list of rows)."""

    class Meta:
        proxy = True
        verbose_name = "search analytics"
        verbose_name_plural = "search analytics"


class ArticleHealth(FaqDocument):
    """Article health in admin: views, answers served and feedback per article."""

    class Meta:
        proxy = True
        verbose_name = "article health"
        verbose_name_plural = "article health"
