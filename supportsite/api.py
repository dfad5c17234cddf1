"""The JSON API under /api/ (OpenAPI schema at /api/openapi.json, docs at /api/docs)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from faq.api import router as faq_router
from recommendations.api import router as recommendations_router

api = NinjaAPI(
    title="supportsite API",
    version="1.0",
    description="Grounded answers from the help centre's FAQ articles, and personal recommendations.",
    urls_namespace="api",
)
api.add_router("/", faq_router)
api.add_router("/", recommendations_router)


def _error(request: HttpRequest, status: int, message: str, **extra) -> HttpResponse:
    body = {"error": message, "request_id": getattr(request, "request_id", ""), **extra}
    return api.create_response(request, body, status=status)


@api.exception_handler(ValidationError)
def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    # Name every problem as "where: what", e.g. "body.query: query must not be empty".
    problems = []
    for error in exc.errors:
        where = ".".join(str(part) for part in error.get("loc", ()) if part != "payload")
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        problems.append(f"{where}: {message}" if where else message)
    return _error(request, 422, "; ".join(problems) or "invalid request", detail=exc.errors)


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return _error(request, exc.status_code, str(exc))


@api.exception_handler(AuthenticationError)
def authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _error(request, 401, "authentication required")
