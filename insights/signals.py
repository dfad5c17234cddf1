"""An article published (saved one by one, or in bulk by admin or import) closes the content gaps it
now answers, there and then: no page needs to look for them later."""

from __future__ import annotations

from django.contrib import messages
from django.db.models.signals import post_save
from django.dispatch import receiver

from faq.models import FaqDocument
from faq.signals import articles_published
from insights.gaps import resolve_by_article, resolve_published


@receiver(post_save, sender=FaqDocument, dispatch_uid="insights_close_answered_gaps")
def close_answered_gaps(sender, instance: FaqDocument, raw: bool = False, **kwargs) -> None:
    if not raw:  # fixtures load rows as they are
        resolve_by_article(instance)


@receiver(articles_published, dispatch_uid="insights_close_gaps_answered_in_bulk")
def close_gaps_answered_in_bulk(sender, documents, request=None, **kwargs) -> None:
    closed = resolve_published(documents)
    if closed and request is not None:
        messages.info(request, f"{closed} content gap(s) left the queue: a newly published article answers them.")
