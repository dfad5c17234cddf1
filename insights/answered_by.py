"""The content-gap queue's "Answered by article..." action: the clusters' questions become known
phrasings of the chosen article (source: content-gap queue) and the clusters leave the queue."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils import timezone

from faq.models import FaqDocument
from faq.phrasings import Source, set_phrasings
from insights.models import GapCluster, GapClusterMember


class AnsweredByForm(forms.Form):
    document = forms.ModelChoiceField(
        queryset=FaqDocument.objects.filter(status=FaqDocument.Status.PUBLISHED),
        label="Article that answers these questions",
    )


def answer_gaps(clusters: QuerySet[GapCluster], document: FaqDocument) -> tuple[int, int]:
    """(clusters closed, phrasings added)."""
    ids = list(clusters.values_list("pk", flat=True))
    questions = GapClusterMember.objects.filter(cluster_id__in=ids).values_list("response__query", flat=True)
    added = set_phrasings(document, [q for q in questions if q], source=Source.GAP_QUEUE)
    closed = GapCluster.objects.filter(pk__in=ids).update(answered_by=document, answered_at=timezone.now())
    return closed, added


@admin.action(description="Answered by article…", permissions=["dismiss"])
def answered_by_article(modeladmin, request: HttpRequest, queryset: QuerySet[GapCluster]):
    """First a page to choose the article; submitting it (`apply`) does the work."""
    form = AnsweredByForm(request.POST if "apply" in request.POST else None)
    if form.is_valid():
        closed, added = answer_gaps(queryset, form.cleaned_data["document"])
        modeladmin.message_user(
            request,
            f"{closed} content gap(s) answered by “{form.cleaned_data['document']}”: "
            f"{added} of their questions are now its known phrasings.",
            messages.SUCCESS,
        )
        return None
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": "Which article answers these questions?",
        "form": form,
        "clusters": queryset,
        "opts": modeladmin.model._meta,
        "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/insights/gapcluster/answered_by.html", context)
