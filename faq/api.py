"""POST /api/ai_faq_search: a grounded answer, or an honest abstention, with its articles."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.decorators import decorate_view
from ninja.errors import HttpError
from pydantic import ConfigDict, field_validator

from faq.answers import Answer, ask
from faq.embeddings import awaitable_model, prime_query_vector
from faq.inputs import BadInput, clean_category_name, clean_query, find_category
from faq.near_ties import tied_choices
from faq.serializers import document_json
from supportsite.api_errors import REFUSALS, error_responses
from supportsite.concurrency import in_thread
from supportsite.db_router import reads_catalogue
from supportsite.identity import resolve_caller
from supportsite.ratelimit import RateLimited, acheck, check, request_ip, scope_ip

logger = logging.getLogger(__name__)
router = Router(tags=["search"])


# What the docs' "Try it out" sends: a real question, no user (Swagger would otherwise fill in
# user_id 0, which is refused).
SEARCH_EXAMPLE = {"query": "How do I reset my password?", "user_id": None, "category": None}


class SearchIn(Schema):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": SEARCH_EXAMPLE})

    query: str
    user_id: int | None = None
    category: str | None = None

    @field_validator("query")
    @classmethod
    def query_is_a_real_question(cls, value: str) -> str:
        return clean_query(value, required=True)  # faq/inputs.py: the same rules as the pages

    @field_validator("user_id")
    @classmethod
    def user_id_is_positive(cls, value: int | None) -> int | None:
        if value is not None and not 0 < value < 2**63:
            raise ValueError("user_id must be a positive integer")
        return value

    @field_validator("category")
    @classmethod
    def category_is_a_name(cls, value: str | None) -> str | None:
        return clean_category_name(value) or None


class DocumentOut(Schema):
    id: int
    slug: str
    question: str
    category: str | None
    similarity: float
    url: str


class SearchOut(Schema):
    response: str
    answered: bool
    answer_mode: str
    request_id: str
    documents: list[DocumentOut]
    # Added for issue 19: the other fields keep their meaning (`response` is still the best article's answer).
    nearly_tied: bool = Field(
        description="The best two documents match almost equally well: show documents[0] and documents[1] as a "
        "choice ('Is it one of these?') rather than `response` as the answer. Always false when not answered."
    )


_DOCUMENT_FIELDS = tuple(DocumentOut.model_fields)  # the schema's order, as ninja would send them


def documents_out(request: HttpRequest, answer: Answer) -> list[dict]:
    documents = (
        document_json(hit.document, request=request, similarity=round(hit.similarity, 4)) for hit in answer.search.hits
    )
    return [{name: data[name] for name in _DOCUMENT_FIELDS} for data in documents]


def _answer_now(request: HttpRequest, payload: SearchIn, *, counted: bool = False) -> Answer:
    caller = resolve_caller(request, payload.user_id)
    try:
        # A category the caller may not read is answered exactly like one that does not exist.
        category = find_category(payload.category, user=caller.user)
    except BadInput as exc:
        raise HttpError(422, f"category: {exc}") from None
    # Before ask(): a refused question is neither answered nor stored in the history.
    if not counted:
        check(user=caller.principal, ip=request_ip(request))
    return ask(payload.query, user=caller.user, category=category, request_id=request.request_id)


_answer = in_thread(_answer_now)


def search_out(request: HttpRequest, answer: Answer) -> dict:
    """SearchOut's data as plain JSON types: ninja checks it against the schema in the view; the
    express lane sends it as it is (the parity test holds the two to the same bytes)."""
    return {
        "response": answer.text,
        "answered": answer.answered,
        "answer_mode": answer.mode,
        "request_id": answer.request_id,
        "documents": documents_out(request, answer),
        "nearly_tied": bool(tied_choices(answer.search)),
    }


def express_payload(body: dict) -> SearchIn | None:
    """The express lane's reading of a body (supportsite/express.py): a valid anonymous question,
    or None to leave the request to the view below, which names whatever is wrong with it."""
    try:
        payload = SearchIn.model_validate(body)
    except ValueError:  # pydantic's ValidationError
        return None
    return payload if payload.user_id is None else None  # a user_id is for identity to decide


@dataclass(frozen=True)
class ExpressQuestion:
    """An express-lane question after express_ahead()."""

    payload: SearchIn
    counted: bool = False  # its rate limit was counted on the event loop, not to be counted again
    refused: RateLimited | None = None


async def express_ahead(scope: dict, payload: SearchIn) -> ExpressQuestion:
    """On the event loop, before the view's thread: a new question's vector from the model process,
    awaited without holding a thread (faq.embeddings.prime_query_vector). Its rate limit is counted
    first, so that a refused question costs no model run; in a thread, as a shared cache is network
    I/O, and not again in the view. The caller is anonymous (the express lane's rule), so only the
    address counts, as in the view. A request that the lane then leaves to Django (a Host that
    ALLOWED_HOSTS refuses: 400) has been counted and may have been embedded; nothing else differs."""
    process = awaitable_model(payload.query)
    if process is None:
        return ExpressQuestion(payload)
    if settings.RATE_LIMITS_ENABLED:
        try:
            await acheck(user=None, ip=scope_ip(scope))
        except RateLimited as exc:
            return ExpressQuestion(payload, counted=True, refused=exc)
    try:
        await prime_query_vector(payload.query, process)
    except Exception:  # never a 500 from here: the view's thread embeds as before
        logger.exception("could not embed a question on the event loop; its request thread will")
    return ExpressQuestion(payload, counted=settings.RATE_LIMITS_ENABLED)


def express_search(request: HttpRequest, question: ExpressQuestion) -> dict:
    """The view's work for the express lane, in its worker thread; errors are raised as the view's."""
    if question.refused is not None:
        raise question.refused
    return search_out(request, _answer_now(request, question.payload, counted=question.counted))


@router.post(
    "/ai_faq_search",
    response={200: SearchOut, **error_responses(*REFUSALS)},
    summary="Answer a customer question from the FAQ articles",
)
@decorate_view(reads_catalogue)  # it may read a replica (supportsite/db_router.py)
async def ai_faq_search(request: HttpRequest, payload: SearchIn) -> dict:
    """Search the articles the caller may see. `answered` is false when no article is close enough:
    the response then says so and `documents` holds the closest articles. `nearly_tied` is true when the
    best two articles match almost equally well (ask the customer which one they mean). Every call is stored in
    the question history (user_responses)."""
    return search_out(request, await _answer(request, payload))
