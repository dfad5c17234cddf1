"""{% feedback_area %}: the "Was this helpful?" area of an article or a fresh answer."""

from __future__ import annotations

from django import template

from faq.feedback import COMMENT_MAX_LENGTH, answer_token, current_vote

register = template.Library()


@register.inclusion_tag("faq/_feedback.html", takes_context=True)
def feedback_area(context, *, document=None, response_id=None) -> dict:
    # A fresh answer has no vote yet; an article may have one from this reader.
    request = context.get("request")
    vote = current_vote(request, document=document) if document is not None and request is not None else None
    return {
        "vote": vote,
        "feedback_document": document,
        "response_token": answer_token(response_id),
        "contact_url": context.get("contact_url", ""),
        "comment_max_length": COMMENT_MAX_LENGTH,
        "csrf_token": context.get("csrf_token"),
    }
