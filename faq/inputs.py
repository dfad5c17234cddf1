"""The one input boundary for a question, whichever way it arrives (API, search page, suggestions,
websocket): the same rules and the same words for each refusal.

The API's schema calls these validators too, so a refusal reads the same in JSON as on a page.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from django.conf import settings
from django.db.models import Q

from faq.models import Category, FaqDocument

CATEGORY_MAX_LENGTH = 140
EMPTY_QUERY = "Type a question to search the help centre."


class BadInput(ValueError):
    """A request the help centre cannot use; the message is shown to the person who sent it."""


def _is_text(value: str) -> bool:
    """False for lone surrogates ("\\ud800"), which JSON can carry and PostgreSQL cannot store."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def clean_query(raw: str, *, required: bool = False) -> str:
    """The question, stripped ("" when there is none, unless `required`). BadInput names the problem."""
    # PostgreSQL text cannot hold NUL: refuse it here with a clear message, not a 500 later.
    if "\x00" in raw:
        raise BadInput("Your question contains a NUL character (\\0), which cannot be searched.")
    if not _is_text(raw):
        raise BadInput("Your question contains characters that are not valid text.")
    query = raw.strip()
    if required and not query:
        raise BadInput(f"Your question is empty. {EMPTY_QUERY}")
    if len(query) > settings.QUERY_MAX_LENGTH:
        raise BadInput(
            f"Your question is {len(query)} characters; the limit is {settings.QUERY_MAX_LENGTH} "
            "(QUERY_MAX_LENGTH). Please shorten it and try again."
        )
    return query


def clean_category_name(raw: str | None) -> str:
    """The category as given (slug or name), checked for shape only; "" for all categories."""
    raw = (raw or "").strip()
    if "\x00" in raw or not _is_text(raw):
        raise BadInput("The category contains characters that are not valid in a category name.")
    if len(raw) > CATEGORY_MAX_LENGTH:
        raise BadInput(f"The category must be a category's short name (at most {CATEGORY_MAX_LENGTH} characters).")
    return raw


def find_category(raw: str | None, *, user) -> Category | None:
    """The category a search is limited to (slug or name, any case), or None for all of them.

    A category exists for `user` only while it holds an article they may read: a staff-only or
    draft-only category is refused in the same words as one that does not exist, since its name
    alone may be internal."""
    name = clean_category_name(raw)
    if not name:
        return None
    readable = FaqDocument.objects.visible_to(user).values("category_id")
    category = Category.objects.filter(Q(slug=name) | Q(name__iexact=name), pk__in=readable).first()
    if category is None:
        raise BadInput(f"There is no category “{name}” in the help centre.")
    return category


def query_params(query_string: str) -> dict[str, str]:
    """An address's parameters, decoded strictly: Django would turn bytes such as %ff into
    "\\ufffd" and search for that, so invalid text is refused here instead."""
    try:
        parsed = parse_qs(query_string, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise BadInput("The address contains bytes that are not valid text (such as %ff).") from None
    return {name: values[-1] for name, values in parsed.items()}
