"""POST /api/recommendations: articles picked from the caller's own question history."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.decorators import decorate_view
from pydantic import ConfigDict, Field

from faq.serializers import document_json
from recommendations.engine import Recommendation, recommend
from supportsite.api_errors import REFUSALS, error_responses
from supportsite.concurrency import in_thread
from supportsite.db_router import reads_catalogue
from supportsite.identity import resolve_caller
from supportsite.ratelimit import RECOMMENDATIONS, check, request_ip

router = Router(tags=["recommendations"])
MAX_LIMIT = 20


# What the docs' "Try it out" sends: no user_id 0 (refused), the popular articles instead.
RECOMMENDATIONS_EXAMPLE = {"user_id": None, "limit": 5}


class RecommendationsIn(Schema):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": RECOMMENDATIONS_EXAMPLE})

    user_id: int | None = Field(default=None, gt=0, lt=2**63)
    limit: int = Field(default=5, ge=1, le=MAX_LIMIT)


class RecommendationOut(Schema):
    id: int
    slug: str
    question: str
    category: str | None
    score: float
    reason: str


class RecommendationsOut(Schema):
    recommendations: list[RecommendationOut]


@in_thread
def _recommend(request: HttpRequest, payload: RecommendationsIn) -> list[Recommendation]:
    caller = resolve_caller(request, payload.user_id)
    check(user=caller.principal, ip=request_ip(request), kind=RECOMMENDATIONS)
    return recommend(caller.user, limit=payload.limit)


@router.post(
    "/recommendations",
    response={200: RecommendationsOut, **error_responses(*REFUSALS)},
    summary="Articles picked for a user",
)
@decorate_view(reads_catalogue)  # it may read a replica (supportsite/db_router.py)
async def recommendations(request: HttpRequest, payload: RecommendationsIn) -> RecommendationsOut:
    """From the user's own past questions, each with the reason it was picked; without a user
    (or history), the popular articles of the last 30 days. A caller may only read their own."""
    picks = await _recommend(request, payload)
    return RecommendationsOut(
        recommendations=[
            RecommendationOut(**document_json(pick.document, request=request, score=pick.score, reason=pick.reason))
            for pick in picks
        ]
    )
