"""Help-centre pages: home, categories, search (and its suggestions), articles and feedback.

Every read goes through `FaqDocument.objects.visible_to(user)`. Search and suggestions embed the
query (and may call the AI provider), so they are async views that run their work on the shared
thread pool (`in_thread`) instead of queueing behind every other sync view. They answer GET
only: a HEAD (link checkers) must not ask a question and store it in the history.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.text import Truncator
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET, require_POST, require_safe

from faq.answers import Answer, ask, wants_generation
from faq.markdown import plain_text, render_markdown
from faq.models import LISTING_DEFER, ArticleView, Category, FaqDocument, Feedback, UserResponse
from faq.phrasings import learn_from_feedback
from faq.popular import categories_with_counts, popular_documents, related_documents
from faq.search import Hit, SearchResult, UnknownCategory, find_category
from faq.search import search as search_documents
from recommendations.engine import recommend
from supportsite import metrics
from supportsite.concurrency import in_thread
from supportsite.ratelimit import SUGGESTIONS, RateLimited, check, request_ip, too_many_page, with_retry_after

SNIPPET_CHARS = 200
SUGGEST_MIN_CHARS = 3
SUGGEST_LIMIT = 5
HOME_PICKS = 3
COMMENT_MAX_LENGTH = 2000
EMPTY_QUERY_MESSAGE = "Type a question to search the help centre."
THANKS = "Thanks for your feedback!"


class BadInput(ValueError):
    """A request the help centre cannot use; the message is shown to the person who sent it."""


def query_params(request: HttpRequest) -> dict[str, str]:
    """The address's parameters, decoded strictly: Django would turn bytes such as %ff into
    "\ufffd" and search for that, so invalid text is refused here instead."""
    try:
        parsed = parse_qs(request.META.get("QUERY_STRING", ""), encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise BadInput("The address contains bytes that are not valid text (such as %ff).") from None
    return {name: values[-1] for name, values in parsed.items()}


def clean_query(raw: str) -> str:
    """The question, stripped; "" when there is none. BadInput names what is wrong with it."""
    # PostgreSQL text cannot hold NUL: refuse it here with a clear message, not a 500 later.
    if "\x00" in raw:
        raise BadInput("Your question contains a NUL character (\\0), which cannot be searched.")
    if not _is_utf8(raw):  # lone surrogates can arrive through JSON (the websocket)
        raise BadInput("Your question contains characters that are not valid text.")
    query = raw.strip()
    if len(query) > settings.QUERY_MAX_LENGTH:
        raise BadInput(
            f"Your question is {len(query)} characters; the limit is {settings.QUERY_MAX_LENGTH}. "
            "Please shorten it and try again."
        )
    return query


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def clean_category(raw: str | None) -> Category | None:
    """The category a search is limited to (slug or name), or None for all of them."""
    raw = (raw or "").strip()
    if "\x00" in raw or not _is_utf8(raw):
        raise BadInput("The category contains characters that are not valid in a category name.")
    if len(raw) > 140:
        raise BadInput("The category must be a category's short name (at most 140 characters).")
    try:
        return find_category(raw)
    except UnknownCategory:
        raise BadInput(f"There is no category “{raw}” in the help centre.") from None


@dataclass
class Card:
    """An article as a search result or list entry."""

    document: FaqDocument
    snippet: str
    similarity: float | None = None


def snippet(document: FaqDocument) -> str:
    return Truncator(plain_text(document.answer)).chars(SNIPPET_CHARS)


def document_json(document: FaqDocument) -> dict:
    """What scripts get for an article (suggestions, streamed results): plain text only."""
    return {
        "question": document.question,
        "url": document.get_absolute_url(),
        "category": document.category.name if document.category else None,
    }


def cited_documents(mode: str, result: SearchResult) -> list[FaqDocument]:
    """The articles an answer came from: the best one, plus (for a generated answer) the other
    articles the model was given that were also close enough to answer on their own."""
    if not result.hits:
        return []
    if mode != UserResponse.Mode.OPENAI:
        return [result.hits[0].document]
    given = result.hits[: settings.ANSWER_SOURCES]
    return [hit.document for i, hit in enumerate(given) if i == 0 or hit.similarity >= result.cutoff]


def _cards(hits: list[Hit]) -> list[Card]:
    return [Card(hit.document, snippet(hit.document), hit.similarity) for hit in hits]


def _search_form_context(request: HttpRequest, **extra) -> dict:
    """What templates/faq/_search_form.html needs."""
    return {
        "query_max_length": settings.QUERY_MAX_LENGTH,
        "streaming": wants_generation(),
        **extra,
    }


def _problem(request: HttpRequest, status: int, problem: str) -> HttpResponse:
    """The 400/403 page (or JSON for scripts) naming what was wrong."""
    if _wants_json(request):
        return JsonResponse({"error": problem}, status=status)
    return render(request, f"{status}.html", {"problem": problem}, status=status)


def _wants_json(request: HttpRequest) -> bool:
    # Our scripts send Accept: application/json; browsers' form posts accept text/html.
    return request.accepts("application/json") and not request.accepts("text/html")


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    # A signed-in customer with a history sees a few articles picked from it, each with its reason
    # (the dashboard has more); without one, the popular articles below are the picks.
    picks = []
    if request.user.is_authenticated:
        picks = [pick for pick in recommend(request.user, limit=HOME_PICKS) if pick.personal]
    context = _search_form_context(
        request,
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
    context = _search_form_context(request, category=category, cards=cards, scoped_category=category)
    return render(request, "faq/category.html", context)


@require_GET
async def search(request: HttpRequest) -> HttpResponse:
    return await _search_page(request)


@in_thread
def _search_page(request: HttpRequest) -> HttpResponse:
    context = _search_form_context(request, query=request.GET.get("q", ""))
    try:
        params = query_params(request)
        query = clean_query(params.get("q", ""))
        category = clean_category(params.get("category"))
    except BadInput as exc:
        return _problem(request, 400, str(exc))
    context.update(
        query=query,
        selected_category=category,
        categories=categories_with_counts(request.user),
    )
    if not query:
        context["message"] = EMPTY_QUERY_MESSAGE
        return render(request, "faq/search.html", context)
    try:
        check(user=request.user, ip=request_ip(request))
    except RateLimited as exc:
        return too_many_page(request, exc)
    # One call, one history row: the answer, its sources and the results all come from it.
    answer: Answer = ask(query, user=request.user, category=category, request_id=request.request_id)
    context.update(
        answer=answer,
        answer_html=render_markdown(answer.text) if answer.answered else "",
        sources=cited_documents(answer.mode, answer.search) if answer.answered else [],
        cards=_cards(answer.search.hits),
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
        params = query_params(request)
        query = clean_query(params.get("q", ""))
        category = clean_category(params.get("category"))
    except BadInput as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    if len(query) < SUGGEST_MIN_CHARS:
        return JsonResponse([], safe=False)
    try:
        check(user=request.user, ip=request_ip(request), kind=SUGGESTIONS)
    except RateLimited as exc:
        return with_retry_after(JsonResponse({"error": exc.message}, status=429), exc)
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


@require_POST
def feedback(request: HttpRequest) -> HttpResponse:
    """Store a "Was this helpful?" answer about an answer (field `response`) or an article (`document`)."""
    try:
        helpful, comment = _helpful_and_comment(request)
        target = _feedback_target(request)
    except BadInput as exc:
        return _problem(request, 400, str(exc))
    except PermissionError as exc:
        return _problem(request, 403, str(exc))
    user = request.user if request.user.is_authenticated else None
    feedback = Feedback.objects.create(user=user, helpful=helpful, comment=comment, **target)
    learn_from_feedback(feedback, address=request_ip(request))  # "helpful" -> a pending known phrasing
    metrics.FEEDBACK.labels(value="helpful" if helpful else "not_helpful").inc()
    if _wants_json(request):
        return JsonResponse({"ok": True, "message": THANKS})
    messages.success(request, THANKS)
    return redirect(_next_url(request, target))


def _helpful_and_comment(request: HttpRequest) -> tuple[bool, str]:
    helpful = request.POST.get("helpful", "")
    if helpful not in ("yes", "no"):
        raise BadInput("Choose “Yes” or “No” to say whether this was helpful.")
    comment = request.POST.get("comment", "").strip()
    if "\x00" in comment:
        raise BadInput("Your comment contains a NUL character (\\0).")
    if len(comment) > COMMENT_MAX_LENGTH:
        raise BadInput(f"Your comment is {len(comment)} characters; the limit is {COMMENT_MAX_LENGTH}.")
    return helpful == "yes", comment


def _feedback_target(request: HttpRequest) -> dict:
    """{"response": UserResponse} or {"document": FaqDocument}; raises BadInput/PermissionError."""
    response_id = request.POST.get("response", "").strip()
    slug = request.POST.get("document", "").strip()
    if bool(response_id) == bool(slug):
        raise BadInput("Say what the feedback is about: an answer (response) or an article (document), not both.")
    if slug:
        if "\x00" in slug or len(slug) > 200:
            raise BadInput("The article name is not valid.")
        document = FaqDocument.objects.visible_to(request.user).filter(slug=slug).first()
        if document is None:
            raise BadInput(f"There is no article “{slug}” in the help centre.")
        return {"document": document}
    if not response_id.isascii() or not response_id.isdigit() or int(response_id) >= 2**63:
        raise BadInput("The answer number must be a whole number.")
    response = UserResponse.objects.filter(pk=int(response_id)).only("pk", "user_id").first()
    if response is None:
        raise BadInput(f"There is no answer number {response_id}.")
    # Only the person who asked may rate an answer given to a signed-in user.
    if response.user_id is not None and response.user_id != request.user.pk:
        raise PermissionError("That answer was given to someone else, so you cannot rate it.")
    return {"response": response}


def _next_url(request: HttpRequest, target: dict) -> str:
    wanted = request.POST.get("next", "")
    # Only paths on this site: an open redirect would let a link bounce users anywhere.
    if (
        wanted.startswith("/")
        and wanted.isprintable()
        and url_has_allowed_host_and_scheme(
            wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return wanted
    if "document" in target:
        return target["document"].get_absolute_url()
    # Not the search page again: reloading it would ask (and record) the question a second time.
    return "/"
