"""An article as JSON, one way for every caller: suggestions, the streamed answer's frames, the
search and recommendation APIs."""

from __future__ import annotations

from django.http import HttpRequest

from faq.markdown import plain_snippet
from faq.models import FaqDocument

SNIPPET_CHARS = 200


def snippet(document: FaqDocument) -> str:
    """The start of the article's answer as plain text, cut between words (cards, frames, descriptions)."""
    return plain_snippet(document.answer, SNIPPET_CHARS)


def document_json(document: FaqDocument, *, request: HttpRequest | None = None, **extra) -> dict:
    """Plain text only: {"question", "url", "category"} and any `extra` fields.

    With `request` (the API), the article's id and slug are added and its url is absolute."""
    url = document.get_absolute_url()
    data = {
        "question": document.question,
        "url": request.build_absolute_uri(url) if request is not None else url,
        "category": document.category.name if document.category else None,
    }
    if request is not None:
        data = {"id": document.pk, "slug": document.slug, **data}
    return {**data, **extra}
