"""An article saved as published (admin, import, code) closes the content gaps it now answers."""

from __future__ import annotations

from django.db.models.signals import post_save
from django.dispatch import receiver

from faq.models import FaqDocument
from insights.gaps import resolve_by_article


@receiver(post_save, sender=FaqDocument, dispatch_uid="insights_close_answered_gaps")
def close_answered_gaps(sender, instance: FaqDocument, raw: bool = False, **kwargs) -> None:
    if not raw:  # fixtures load rows as they are
        resolve_by_article(instance)
