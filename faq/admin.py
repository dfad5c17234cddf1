"""Staff edit the knowledge base here: categories, articles, publishing and embeddings."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest, JsonResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from faq.admin_dates import short_date
from faq.admin_phrasings import PhrasingInline
from faq.markdown import render_markdown
from faq.models import Category, FaqDocument
from faq.reembedding import reembed_documents
from faq.signals import articles_published

SIMILAR_ARTICLES = 5
# MiniLM puts rewordings of the same question above 0.9 and merely related articles well below.
DUPLICATE_SIMILARITY = 0.9


def _note(text: str) -> SafeString:
    return format_html('<span class="help">{}</span>', text)


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "order", "article_count"]
    list_editable = ["order"]
    prepopulated_fields = {"slug": ("name",)}
    search_fields = ["name", "description"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Category]:
        # One COUNT per page in SQL rather than one query per row.
        return super().get_queryset(request).annotate(article_count=Count("documents"))

    @admin.display(description="Articles", ordering="article_count")
    def article_count(self, obj: Category) -> int:
        return obj.article_count


class EmbeddingStatusFilter(admin.SimpleListFilter):
    title = "embedding status"
    parameter_name = "embedding"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("yes", "Embedded"), ("no", "Not embedded")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[FaqDocument]) -> QuerySet[FaqDocument]:
        # not_embedded() is the one definition (also used by `reembed --missing`); "embedded" is its complement.
        not_embedded = FaqDocument.objects.not_embedded().values("pk")
        if self.value() == "yes":
            return queryset.exclude(pk__in=not_embedded)
        if self.value() == "no":
            return queryset.filter(pk__in=not_embedded)
        return queryset


@admin.register(FaqDocument)
class FaqDocumentAdmin(admin.ModelAdmin):
    inlines = [PhrasingInline]
    list_display = ["question", "category", "status", "visibility", "embedded", "updated"]
    list_select_related = ["category"]
    list_filter = ["category", "status", "visibility", "featured", EmbeddingStatusFilter]
    search_fields = ["question", "answer", "slug"]
    prepopulated_fields = {"slug": ("question",)}
    readonly_fields = ["markdown_preview", "embedding_status", "similar_articles", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["question", "slug", "category"]}),
        ("Answer", {"fields": ["answer", "markdown_preview"]}),
        ("Publishing", {"fields": ["status", "visibility", "featured"]}),
        ("Embedding", {"fields": ["embedding_status", "similar_articles"]}),
        ("Timestamps", {"fields": ["created_at", "updated_at"], "classes": ["collapse"]}),
    ]
    actions = ["publish_selected", "unpublish_selected", "reembed_selected"]

    @admin.display(description="Updated", ordering="updated_at")
    def updated(self, obj: FaqDocument) -> SafeString | str:
        return short_date(obj.updated_at)

    @admin.display(description="Embedded", boolean=True)
    def embedded(self, obj: FaqDocument) -> bool:
        return obj.is_embedded

    @admin.display(description="Markdown preview")
    def markdown_preview(self, obj: FaqDocument) -> SafeString:
        # static/js/admin_preview.js posts the answer to preview_view as staff type, and swaps this in.
        url = reverse("admin:faq_faqdocument_preview")
        body = render_markdown(obj.answer) if obj.answer else _note("Type an answer to see its preview.")
        return format_html('<div class="markdown-preview" data-preview-url="{}" aria-live="polite">{}</div>', url, body)

    def get_urls(self):
        preview = path("preview/", self.admin_site.admin_view(self.preview_view), name="faq_faqdocument_preview")
        return [preview, *super().get_urls()]

    def preview_view(self, request: HttpRequest) -> JsonResponse:
        """POST {answer}: the sanitised HTML customers would see (the same render_markdown)."""
        if request.method != "POST":
            return JsonResponse({"error": "POST the answer to preview it."}, status=405)
        if not (self.has_add_permission(request) or self.has_change_permission(request)):
            return JsonResponse({"error": "You may not edit articles."}, status=403)
        answer = request.POST.get("answer", "")
        if "\x00" in answer:
            return JsonResponse({"error": "The answer contains a NUL character (\\0)."}, status=400)
        return JsonResponse({"html": render_markdown(answer)})

    @admin.display(description="Embedding status")
    def embedding_status(self, obj: FaqDocument) -> SafeString:
        if obj.pk is None:
            return _note("Embedded when saved.")
        if obj.is_embedded:
            return format_html("Embedded with <code>{}</code>", obj.embedding_model)
        return format_html(
            '<span class="not-embedded">Not embedded — run <code>{}</code> or use the bulk action.</span>',
            "python manage.py reembed --missing",
        )

    @admin.display(description="Similar articles")
    def similar_articles(self, obj: FaqDocument) -> SafeString:
        if obj.pk is None:
            return _note("Save the article to see similar ones.")
        if not obj.is_embedded:
            return _note("Not embedded, so similar articles cannot be found.")
        neighbours = FaqDocument.objects.similar_to(obj).only("pk", "question")[:SIMILAR_ARTICLES]
        rows = []
        for doc in neighbours:
            similarity = 1 - doc.distance
            tag = (
                format_html(' <span class="possible-duplicate">{}</span>', "possible duplicate")
                if similarity >= DUPLICATE_SIMILARITY
                else ""
            )
            url = reverse("admin:faq_faqdocument_change", args=[doc.pk])
            rows.append((url, doc.question, f"{similarity:.2f}", tag))
        if not rows:
            return _note("No other embedded articles yet.")
        items = format_html_join("", '<li class="similar-article"><a href="{}">{}</a> — similarity {}{}</li>', rows)
        return format_html('<ul class="similar-articles">{}</ul>', items)

    @admin.action(description="Publish selected articles", permissions=["change"])
    def publish_selected(self, request: HttpRequest, queryset: QuerySet[FaqDocument]) -> None:
        # Status is not part of the embedded text, so a bulk UPDATE is safe; it skips auto_now, hence updated_at.
        ids = list(queryset.values_list("pk", flat=True))
        count = FaqDocument.objects.filter(pk__in=ids).update(
            status=FaqDocument.Status.PUBLISHED, updated_at=timezone.now()
        )
        self.message_user(request, f"Published {count} article(s).", messages.SUCCESS)
        articles_published.send(sender=FaqDocument, documents=FaqDocument.objects.filter(pk__in=ids), request=request)

    @admin.action(description="Unpublish selected articles (back to draft)", permissions=["change"])
    def unpublish_selected(self, request: HttpRequest, queryset: QuerySet[FaqDocument]) -> None:
        count = queryset.update(status=FaqDocument.Status.DRAFT, updated_at=timezone.now())
        self.message_user(request, f"Moved {count} article(s) back to draft.", messages.SUCCESS)

    @admin.action(description="Re-embed selected articles", permissions=["change"])
    def reembed_selected(self, request: HttpRequest, queryset: QuerySet[FaqDocument]) -> None:
        ids = list(queryset.order_by("pk").values_list("pk", flat=True))
        embedded = reembed_documents(ids)
        failed = len(ids) - embedded
        if failed:
            self.message_user(
                request,
                f"Embedded {embedded} article(s); {failed} failed (see the server log, then try again).",
                messages.WARNING,
            )
        else:
            self.message_user(request, f"Embedded {embedded} article(s); 0 failed.", messages.SUCCESS)
