"""An article as JSON, one way for every caller: suggestions, the streamed answer's frames, the
search and recommendation APIs."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import get_script_prefix, get_urlconf, reverse

from faq.markdown import plain_snippet
from faq.models import FaqDocument

SNIPPET_CHARS = 200


def snippet(document: FaqDocument) -> str:
    """The start of the article's answer as plain text, cut between words (cards, frames, descriptions)."""
    return plain_snippet(document.answer, SNIPPET_CHARS)


_SLUG = "0slug0"  # a slug no article has: the place in the reversed path where a slug goes
_article_paths: dict[tuple, tuple[str, str]] = {}


def article_path(document: FaqDocument) -> str:
    """document.get_absolute_url(), without a reverse() per article: five per answer cost more than
    the rest of the JSON (cProfile). Slugs are [-a-zA-Z0-9_], so none needs quoting."""
    key = (get_script_prefix(), get_urlconf())
    parts = _article_paths.get(key)
    if parts is None:
        before, _, after = reverse("article", kwargs={"slug": _SLUG}).partition(_SLUG)
        parts = _article_paths[key] = (before, after)
    return parts[0] + document.slug + parts[1]


def document_json(document: FaqDocument, *, request: HttpRequest | None = None, **extra) -> dict:
    """Plain text only: {"question", "url", "category"} and any `extra` fields.

    With `request` (the API), the article's id and slug are added and its url is absolute."""
    url = article_path(document)
    data = {
        "question": document.question,
        "url": request.build_absolute_uri(url) if request is not None else url,
        "category": document.category.name if document.category else None,
    }
    if request is not None:
        data = {"id": document.pk, "slug": document.slug, **data}
    return {**data, **extra}
