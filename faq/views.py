"""Help-centre pages: home, categories, search (and its suggestions), articles and feedback.

Every read goes through `FaqDocument.objects.visible_to(user)`. Search and suggestions embed the
query (and may call the AI provider), so they are async views that run their work on the shared
thread pool (`in_thread`) instead of queueing behind every other sync view. They answer GET
only: a HEAD (link checkers) must not ask a question and store it in the history.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET, require_safe

from faq.answers import Answer, ask, cited_documents, wants_generation
from faq.inputs import EMPTY_QUERY, BadInput, clean_query, find_category, query_params
from faq.markdown import render_markdown
from faq.models import LISTING_DEFER, ArticleView, Category, FaqDocument, UserResponse
from faq.near_ties import tied_choices
from faq.popular import categories_with_counts, popular_documents, related_documents
from faq.search import Hit
from faq.search import search as search_documents
from faq.serializers import document_json, snippet
from recommendations.engine import recommend
from supportsite.concurrency import in_thread
from supportsite.errors import json_error, problem
from supportsite.ratelimit import SUGGESTIONS, RateLimited, check, request_ip, too_many_page, with_retry_after

SUGGEST_MIN_CHARS = 3
SUGGEST_LIMIT = 5
HOME_PICKS = 3


@dataclass
class Card:
    """An article as a search result or list entry."""

    document: FaqDocument
    snippet: str
    similarity: float | None = None


def _cards(hits: list[Hit]) -> list[Card]:
    return [Card(hit.document, snippet(hit.document), hit.similarity) for hit in hits]


def _search_form_context(**extra) -> dict:
    """What templates/faq/_search_form.html needs."""
    return {
        "query_max_length": settings.QUERY_MAX_LENGTH,
        "streaming": wants_generation(),
        **extra,
    }


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    # A signed-in customer with a history sees a few articles picked from it, each with its reason
    # (the dashboard has more); without one, the popular articles below are the picks.
    picks = []
    if request.user.is_authenticated:
        picks = [pick for pick in recommend(request.user, limit=HOME_PICKS) if pick.personal]
    context = _search_form_context(
        categories=categories_with_counts(request.user),
        popular=popular_documents(request.user),
        picks=picks,
    )
    return render(request, "faq/home.html", context)


@require_safe
def category(request: HttpRequest, slug: str) -> HttpResponse:
    category = get_object_or_404(Category, slug=slug)
    documents = list(
        FaqDocument.objects.visible_to(request.user)
        .filter(category=category)
        .select_related("category")
        .defer(*LISTING_DEFER)
        .order_by("question")
    )
    # A category whose every article is hidden from this reader (say, staff-only) does not exist
    # for them: its name alone may be internal.
    if not documents:
        raise Http404("no visible articles in this category")
    cards = [Card(document, snippet(document)) for document in documents]
    context = _search_form_context(category=category, cards=cards, scoped_category=category)
    return render(request, "faq/category.html", context)


@require_GET
async def search(request: HttpRequest) -> HttpResponse:
    return await _search_page(request)


@in_thread
def _search_page(request: HttpRequest) -> HttpResponse:
    context = _search_form_context(query=request.GET.get("q", ""))
    try:
        params = query_params(request.META.get("QUERY_STRING", ""))
        query = clean_query(params.get("q", ""))
        category = find_category(params.get("category"), user=request.user)
    except BadInput as exc:
        return problem(request, 400, str(exc))
    context.update(
        query=query,
        selected_category=category,
        categories=categories_with_counts(request.user),
    )
    if not query:
        context["message"] = EMPTY_QUERY
        return render(request, "faq/search.html", context)
    try:
        check(user=request.user, ip=request_ip(request))
    except RateLimited as exc:
        return too_many_page(request, exc)
    # One call, one history row: the answer, its sources and the results all come from it.
    answer: Answer = ask(query, user=request.user, category=category, request_id=request.request_id)
    # The best two nearly tied: offer both ("Is it one of these?") rather than commit to the first.
    choices = tied_choices(answer.search)
    context.update(
        answer=answer,
        answer_html=render_markdown(answer.text) if answer.answered and not choices else "",
        sources=cited_documents(answer),
        choices=_cards(choices),
        cards=_cards(answer.search.hits[len(choices) :]),
        keyword_only=answer.mode == UserResponse.Mode.KEYWORD,
    )
    return render(request, "faq/search.html", context)


@require_GET
@cache_control(private=True, max_age=60)
async def suggest(request: HttpRequest) -> JsonResponse:
    """Articles for search-as-you-type: [{"question", "url", "category"}]. Records no history."""
    return await _suggestions(request)


@in_thread
def _suggestions(request: HttpRequest) -> JsonResponse:
    try:
        params = query_params(request.META.get("QUERY_STRING", ""))
        query = clean_query(params.get("q", ""))
        category = find_category(params.get("category"), user=request.user)
    except BadInput as exc:
        return json_error(request, 400, str(exc))
    if len(query) < SUGGEST_MIN_CHARS:
        return JsonResponse([], safe=False)
    try:
        check(user=request.user, ip=request_ip(request), kind=SUGGESTIONS)
    except RateLimited as exc:
        return with_retry_after(json_error(request, 429, exc.message), exc)
    # search(), not ask(): a half-typed question is not a question to keep in the history.
    result = search_documents(query, user=request.user, category=category, limit=SUGGEST_LIMIT, ranking="shipped")
    return JsonResponse([document_json(hit.document) for hit in result.hits], safe=False)


@require_safe
def article(request: HttpRequest, slug: str) -> HttpResponse:
    document = get_object_or_404(FaqDocument.objects.visible_to(request.user).select_related("category"), slug=slug)
    if request.method == "GET":  # a HEAD (link checker) is not a reader
        # Read history: recommendations skip what a user has read; the dashboard can clear it.
        ArticleView.objects.create(document=document, user=request.user if request.user.is_authenticated else None)
    context = {
        "document": document,
        "answer_html": render_markdown(document.answer),
        "description": snippet(document),
        "related": related_documents(document, user=request.user),
    }
    return render(request, "faq/article.html", context)
