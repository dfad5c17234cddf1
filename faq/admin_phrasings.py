"""Known phrasings in admin: the "Also asked as" inline on an article (a phrasing nearer to another
article is flagged before saving) and the list where staff approve or reject customers' ones."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from faq.embeddings import EmbeddingError, embed_query, embed_texts
from faq.models import KnownPhrasing
from faq.phrasings import approve, clean_text, conflict_for, reject


class PhrasingForm(forms.ModelForm):
    keep_anyway = forms.BooleanField(
        required=False,
        label="Keep even if nearer to another article",
        help_text="Tick to save a phrasing flagged as nearer to another article.",
    )

    class Meta:
        model = KnownPhrasing
        fields = ["text", "status", "keep_anyway"]

    def clean_text(self) -> str:
        text = clean_text(self.cleaned_data.get("text") or "")
        if not text:
            raise forms.ValidationError("A phrasing needs some words.")
        return text


class PhrasingFormSet(forms.BaseInlineFormSet):
    user = None  # the staff member saving, set by PhrasingInline.get_formset

    def __init__(self, data=None, *args, **kwargs) -> None:
        prefix = kwargs.get("prefix") or self.get_default_prefix()
        if data is not None and f"{prefix}-TOTAL_FORMS" not in data:
            # A form posted without the inline (a script, an older page) saves the article and no
            # phrasings, rather than failing on a missing management form.
            data = data.copy()
            data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
        super().__init__(data, *args, **kwargs)

    def clean(self) -> None:
        super().clean()
        checked = [
            form
            for form in self.forms
            if form.has_changed()
            and not form.errors
            and form.cleaned_data.get("text")
            and not form.cleaned_data.get("DELETE")
            and form.cleaned_data.get("status") == KnownPhrasing.Status.APPROVED
            and not form.cleaned_data.get("keep_anyway")
        ]
        if not checked:
            return
        document = self.instance
        try:
            # The article as it is being saved: its edited text, not the stored vector.
            own = document.embedding if not document.needs_embedding() else embed_texts([document.embedding_text])[0]
            vectors = [embed_query(form.cleaned_data["text"]) for form in checked]
        except EmbeddingError:
            return  # the model is down: nothing to compare with; the phrasing is embedded later
        for form, vector in zip(checked, vectors, strict=True):
            text = form.cleaned_data["text"]
            conflict = conflict_for(document if document.pk else None, text, vector, own_vector=own)
            if conflict is not None:
                form.add_error("text", f"{conflict} Reword it, or tick “Keep even if nearer to another article”.")

    def save_new(self, form, commit=True):
        form.instance.source = KnownPhrasing.Source.STAFF
        self._stamp(form)
        return super().save_new(form, commit=commit)

    def save_existing(self, form, obj, commit=True):
        self._stamp(form)
        return super().save_existing(form, obj, commit=commit)

    def _stamp(self, form) -> None:
        phrasing = form.instance
        if "status" in form.changed_data or phrasing.pk is None:
            if phrasing.status == KnownPhrasing.Status.PENDING:
                phrasing.approved_by, phrasing.approved_at = None, None
            else:
                phrasing.approved_by, phrasing.approved_at = self.user, timezone.now()
                # Decided by staff: no link to the customer who asked is kept.
                phrasing.asked_by, phrasing.response, phrasing.address_hash = None, None, ""


class PhrasingInline(admin.TabularInline):
    model = KnownPhrasing
    form = PhrasingForm
    formset = PhrasingFormSet
    extra = 1
    verbose_name = "Also asked as"
    verbose_name_plural = "Also asked as (known phrasings: questions that mean this article)"
    readonly_fields = ["source", "approved_by", "approved_at"]

    def get_formset(self, request: HttpRequest, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.user = request.user
        return formset


@admin.register(KnownPhrasing)
class KnownPhrasingAdmin(admin.ModelAdmin):
    list_display = ["text", "document", "source", "status", "created_at", "approved_by", "approved_at"]
    list_filter = ["status", "source"]
    search_fields = ["text", "document__question"]
    list_select_related = ["document", "approved_by"]
    actions = ["approve_selected", "reject_selected"]
    fields = ["document", "text", "status", "source", "approved_by", "approved_at", "created_at"]
    readonly_fields = ["source", "approved_by", "approved_at", "created_at"]
    raw_id_fields = ["document"]

    def save_model(self, request: HttpRequest, obj: KnownPhrasing, form, change: bool) -> None:
        if obj.pk is None:
            obj.source = KnownPhrasing.Source.STAFF
        if "status" in form.changed_data or obj.pk is None:
            if obj.status == KnownPhrasing.Status.PENDING:
                obj.approved_by, obj.approved_at = None, None
            else:
                obj.approved_by, obj.approved_at = request.user, timezone.now()
                obj.asked_by, obj.response, obj.address_hash = None, None, ""
        super().save_model(request, obj, form, change)

    @admin.action(description="Approve selected phrasings")
    def approve_selected(self, request: HttpRequest, queryset: QuerySet[KnownPhrasing]) -> None:
        done = approve(queryset.select_related("document"), by=request.user)
        messages.success(request, f"{done} phrasing(s) approved: search now uses them.")

    @admin.action(description="Reject selected phrasings")
    def reject_selected(self, request: HttpRequest, queryset: QuerySet[KnownPhrasing]) -> None:
        done = reject(queryset, by=request.user)
        messages.success(request, f"{done} phrasing(s) rejected.")
