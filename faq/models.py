"""The knowledge base: categories and FAQ documents (table faq_documents), question history and
feedback. django-prometheus counts inserts, updates and deletes of each model (ExportModelOperationsMixin)."""

from __future__ import annotations

import hashlib
import logging

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from django.urls import reverse
from django.utils.text import slugify
from django_prometheus.models import ExportModelOperationsMixin
from pgvector.django import CosineDistance, HnswIndex

from faq.fields import EmbeddingField

logger = logging.getLogger(__name__)

QUESTION_MAX_LENGTH = 500
# Columns that listings and search results never show: a 384-float vector and a tsvector per row.
LISTING_DEFER = ("embedding", "search_vector")
ANSWER_MAX_LENGTH = 50_000


class Category(ExportModelOperationsMixin("category"), models.Model):
    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=140, unique=True)
    description = models.TextField(blank=True)
    order = models.PositiveIntegerField(default=0, help_text="Lower numbers are listed first.")

    class Meta:
        ordering = ["order", "name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        if not self.slug:
            self.slug = slugify(self.name)[:140] or "category"
        super().save(*args, **kwargs)


class FaqDocumentQuerySet(models.QuerySet):
    def visible_to(self, user) -> FaqDocumentQuerySet:
        """What `user` may read: the one place search, answers, pages and the API ask."""
        return self.filter(status=FaqDocument.Status.PUBLISHED, visibility__in=visibilities_for(user))

    def nearest(self, vector, *, model: str | None = None) -> FaqDocumentQuerySet:
        """Closest first by cosine distance (annotated `distance`); slice it to use the HNSW index."""
        from faq.embeddings import current_model_name

        # Vectors of another model are not comparable (or not even the same size).
        return (
            self.filter(embedding__isnull=False, embedding_model=model or current_model_name())
            .annotate(distance=CosineDistance("embedding", vector))
            .order_by("distance")
        )

    def similar_to(self, document: FaqDocument) -> FaqDocumentQuerySet:
        """Other articles, closest to `document` first (related articles, possible duplicates)."""
        return self.exclude(pk=document.pk).nearest(document.embedding, model=document.embedding_model)

    def not_embedded(self) -> FaqDocumentQuerySet:
        from faq.embeddings import current_model_name

        return self.filter(models.Q(embedding__isnull=True) | ~models.Q(embedding_model=current_model_name()))


class FaqDocument(ExportModelOperationsMixin("faq_document"), models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"

    class Visibility(models.TextChoices):
        PUBLIC = "public", "Everyone"
        SIGNED_IN = "signed_in", "Signed-in users"
        STAFF = "staff", "Staff only"

    question = models.CharField(max_length=QUESTION_MAX_LENGTH, help_text="The title customers see and search.")
    answer = models.TextField(help_text="Markdown.")
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="documents")
    # Stable external key: imports upsert by it and article URLs use it.
    slug = models.SlugField(max_length=200, unique=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PUBLISHED, db_index=True)
    visibility = models.CharField(max_length=12, choices=Visibility.choices, default=Visibility.PUBLIC)
    # Chosen by staff for the home page's "Popular" until readers' own reading and answers fill it.
    featured = models.BooleanField(
        default=False, help_text="Shown under Popular on the home page while there is little reading history."
    )
    embedding = EmbeddingField(null=True, blank=True, editable=False)
    embedding_model = models.CharField(max_length=200, blank=True, editable=False)
    # sha256 of the text that was embedded: a save with the same text skips the model call.
    embedded_hash = models.CharField(max_length=64, blank=True, editable=False)
    # Kept by PostgreSQL itself, so keyword search can never disagree with the row.
    search_vector = models.GeneratedField(
        expression=SearchVector("question", weight="A", config="english")
        + SearchVector("answer", weight="B", config="english"),
        output_field=SearchVectorField(),
        db_persist=True,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = FaqDocumentQuerySet.as_manager()

    class Meta:
        db_table = "faq_documents"
        ordering = ["question"]
        # What staff call them (admin would say "Faq documents").
        verbose_name = "FAQ article"
        verbose_name_plural = "FAQ articles"
        indexes = [
            # Nearest-neighbour search by cosine distance (ORDER BY embedding <=> q LIMIT k).
            HnswIndex(
                name="faq_documents_embedding_hnsw",
                fields=["embedding"],
                m=16,
                ef_construction=64,
                opclasses=["vector_cosine_ops"],
            ),
            # Full-text search over the generated tsvector.
            GinIndex(fields=["search_vector"], name="faq_documents_search_gin"),
            # The published/visible filter runs on every search and page.
            models.Index(fields=["status", "visibility"], name="faq_documents_status_vis"),
        ]

    def __str__(self) -> str:
        return self.question

    def save(self, *args, **kwargs) -> None:
        if not self.slug:
            self.slug = unique_slug(self.question, exclude_pk=self.pk)
        if self.needs_embedding():
            from faq.embeddings import embed_documents

            embed_documents([self])
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("article", kwargs={"slug": self.slug})

    @property
    def embedding_text(self) -> str:
        return article_embedding_text(self.question, self.answer)

    @property
    def text_hash(self) -> str:
        return hashlib.sha256(self.embedding_text.encode("utf-8", "surrogatepass")).hexdigest()

    @property
    def is_embedded(self) -> bool:
        from faq.embeddings import current_model_name

        return self.embedding is not None and self.embedding_model == current_model_name()

    def needs_embedding(self) -> bool:
        return not self.is_embedded or self.embedded_hash != self.text_hash


def article_embedding_text(question: str, answer: str) -> str:
    """What an article's vector is made from (also for migrations, which see no model methods)."""
    from faq.markdown import embedding_text

    return f"{question}\n\n{embedding_text(answer)}"


def visibilities_for(user) -> list[str]:
    """The visibility levels `user` may read (used by visible_to and by raw vector SQL)."""
    if user is not None and getattr(user, "is_staff", False) and getattr(user, "is_active", True):
        return list(FaqDocument.Visibility.values)
    if user is not None and getattr(user, "is_authenticated", False):
        return [FaqDocument.Visibility.PUBLIC, FaqDocument.Visibility.SIGNED_IN]
    return [FaqDocument.Visibility.PUBLIC]


def unique_slug(text: str, *, exclude_pk: int | None = None) -> str:
    base = slugify(text)[:180].strip("-") or "article"
    slug, n = base, 2
    taken = FaqDocument.objects.exclude(pk=exclude_pk) if exclude_pk else FaqDocument.objects.all()
    while taken.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


class UserResponse(ExportModelOperationsMixin("user_response"), models.Model):
    """One question asked and what the help centre answered (table user_responses)."""

    class Mode(models.TextChoices):
        EXTRACTIVE = "extractive", "Extractive"
        OPENAI = "openai", "Generated (OpenAI)"
        KEYWORD = "keyword", "Keyword only (degraded)"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="responses"
    )
    query = models.TextField()
    response = models.TextField(blank=True)
    # Stored at query time so recommendations and gap clustering never re-embed.
    query_embedding = EmbeddingField(null=True, blank=True)
    # [{"id": 12, "similarity": 0.71}, ...] in ranked order.
    matched = models.JSONField(default=list, blank=True)
    answered = models.BooleanField()
    answer_mode = models.CharField(max_length=12, choices=Mode.choices)
    # The best two matches were nearly tied (faq/near_ties.py): the page offered both, so the
    # dashboard and the stored answer offer both again rather than show `response` as the answer.
    # A database default too: bulk loaders (COPY in bench/cluster_questions.py) name their columns.
    nearly_tied = models.BooleanField(default=False, db_default=False)
    category = models.CharField(max_length=140, blank=True)
    latency_ms = models.PositiveIntegerField(default=0)
    request_id = models.CharField(max_length=64, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        db_table = "user_responses"
        ordering = ["-created_at"]
        indexes = [
            # A user's history, newest first (dashboard, recommendations).
            models.Index(fields=["user", "-created_at"], name="user_responses_user_recent"),
        ]

    def __str__(self) -> str:
        return self.query[:80]


class ArticleView(models.Model):
    """An article page opened (by a signed-in user, or anonymously): read history and analytics."""

    document = models.ForeignKey(FaqDocument, on_delete=models.CASCADE, related_name="views")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        indexes = [
            # "Already read" lookups for recommendations.
            models.Index(fields=["user", "document"], name="article_views_user_doc"),
        ]

    def __str__(self) -> str:
        return f"{self.document} at {self.created_at:%Y-%m-%d %H:%M}"


class Feedback(ExportModelOperationsMixin("feedback"), models.Model):
    """ "Was this helpful?" on an answer (a user response) or on an article."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    response = models.ForeignKey(UserResponse, null=True, blank=True, on_delete=models.CASCADE)
    document = models.ForeignKey(FaqDocument, null=True, blank=True, on_delete=models.CASCADE)
    helpful = models.BooleanField()
    comment = models.TextField(blank=True, max_length=2000)
    # Who voted on an article: "user:<pk>", or "anon:<random>" kept in an anonymous session.
    # An answer was given to one asker, so a vote on an answer needs no voter to be unique.
    voter = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(response__isnull=False) | models.Q(document__isnull=False),
                name="feedback_has_a_target",
            ),
            # One vote per answer and per article and person: voting again changes it (faq/feedback.py).
            models.UniqueConstraint(
                fields=["response"], condition=models.Q(response__isnull=False), name="feedback_one_per_answer"
            ),
            models.UniqueConstraint(
                fields=["document", "voter"],
                # Rows stored without a voter (made by scripts, not the form) are not anyone's vote.
                condition=models.Q(response__isnull=True) & ~models.Q(voter=""),
                name="feedback_one_per_article_and_voter",
            ),
        ]

    def __str__(self) -> str:
        return f"{'helpful' if self.helpful else 'not helpful'}: {self.response or self.document}"


class KnownPhrasingQuerySet(models.QuerySet):
    def approved(self) -> KnownPhrasingQuerySet:
        return self.filter(status=KnownPhrasing.Status.APPROVED)


class KnownPhrasing(ExportModelOperationsMixin("known_phrasing"), models.Model):
    """A question that means an article (what the help centre learned). Search ranks the article by
    its own vector and its approved phrasings together; who may see it is always the article's."""

    class Source(models.TextChoices):
        STAFF = "staff", "Staff"
        IMPORT = "import", "Import"
        GAP_QUEUE = "gap_queue", "Content-gap queue"
        CUSTOMER = "customer", "Customer"

    class Status(models.TextChoices):
        APPROVED = "approved", "Approved"
        PENDING = "pending", "Pending"
        REJECTED = "rejected", "Rejected"

    document = models.ForeignKey(FaqDocument, on_delete=models.CASCADE, related_name="phrasings")
    text = models.CharField(max_length=QUESTION_MAX_LENGTH)
    source = models.CharField(max_length=12, choices=Source.choices, default=Source.STAFF)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.APPROVED)
    embedding = EmbeddingField(null=True, blank=True, editable=False)
    embedding_model = models.CharField(max_length=200, blank=True, editable=False)
    embedded_hash = models.CharField(max_length=64, blank=True, editable=False)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    # A customer's pending phrasing is part of their history: both links cascade ("clear my
    # history", purge_history) and are cut when it is approved.
    asked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    response = models.ForeignKey(UserResponse, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    # A keyed hash of the asker's address (never the address): one address cannot confirm twice.
    address_hash = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = KnownPhrasingQuerySet.as_manager()

    class Meta:
        ordering = ["document", "pk"]
        indexes = [
            # Nearest approved phrasings by cosine distance (search). Partial: pending and rejected
            # ones are never scanned past, and with none approved the scan ends at once.
            HnswIndex(
                name="faq_phrasings_approved_hnsw",
                fields=["embedding"],
                m=16,
                ef_construction=64,
                opclasses=["vector_cosine_ops"],
                condition=models.Q(status="approved"),
            ),
            # The admin list and the approval rule read pending ones per article.
            models.Index(fields=["document", "status"], name="faq_phrasings_doc_status"),
        ]
        constraints = [
            # An article learns a wording once; pending duplicates are confirmations, not copies.
            models.UniqueConstraint(
                fields=["document", "text"],
                condition=models.Q(status="approved"),
                name="faq_phrasings_unique_approved",
            )
        ]

    def __str__(self) -> str:
        return self.text

    def save(self, *args, **kwargs) -> None:
        if self.needs_embedding():
            from faq.phrasings import embed_phrasings

            embed_phrasings([self])
        super().save(*args, **kwargs)

    @property
    def embedding_text(self) -> str:
        return self.text

    @property
    def text_hash(self) -> str:
        return hashlib.sha256(self.embedding_text.encode("utf-8", "surrogatepass")).hexdigest()

    def needs_embedding(self) -> bool:
        from faq.embeddings import current_model_name

        return (
            self.embedding is None
            or self.embedding_model != current_model_name()
            or self.embedded_hash != self.text_hash
        )
