"""Signals other apps may listen to (the help centre imports none of them)."""

from __future__ import annotations

from django.dispatch import Signal

# Sent after articles became published (or changed while published) without a save() of each:
# admin's bulk "publish" and import_faqs write them with UPDATE, which sends no post_save.
# Arguments: `documents` (a QuerySet of the articles) and `request` (None outside admin).
articles_published = Signal()
