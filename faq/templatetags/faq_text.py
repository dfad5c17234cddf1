"""{{ markdown|answer_snippet:300 }}: an answer as the reader sees it, in short (not raw Markdown)."""

from __future__ import annotations

from django import template

from faq.feedback import answer_url
from faq.markdown import plain_snippet

register = template.Library()


@register.filter
def answer_snippet(markdown: str, chars: int = 300) -> str:
    return plain_snippet(markdown or "", int(chars))


@register.filter
def stored_answer_url(response_id: int) -> str:
    """Where a customer reads (and rates) an answer they were given."""
    return answer_url(response_id)
