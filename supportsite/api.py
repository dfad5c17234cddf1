"""The JSON API under /api/ (OpenAPI schema at /api/openapi.json, docs at /api/docs)."""

from __future__ import annotations

import json

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.parser import Parser

from faq.api import router as faq_router
from recommendations.api import router as recommendations_router
from supportsite.errors import error_body
from supportsite.ratelimit import RateLimited, with_retry_after


class BodyProblem(ValueError):
    """What is wrong with a request body. Ninja turns any parser error into a vague 400; the
    HttpError handler below finds this as its cause and answers with its status and words."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class JsonOnly(Parser):
    """The API reads JSON bodies only, and says exactly what is wrong with one it cannot read."""

    def parse_body(self, request: HttpRequest):
        if request.content_type != "application/json":
            given = request.content_type or "none"
            raise BodyProblem(415, f"send the body as JSON (Content-Type: application/json), not {given!r}")
        try:
            text = request.body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BodyProblem(400, f"the body is not valid UTF-8 (byte {exc.start + 1})") from None
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise BodyProblem(400, f"the body is not valid JSON: {exc}") from None
        except RecursionError:
            raise BodyProblem(400, "the body is not valid JSON: it is nested too deeply") from None
        if not isinstance(data, dict):
            raise BodyProblem(422, f"the body must be a JSON object, not {type(data).__name__}")
        return data


api = NinjaAPI(
    parser=JsonOnly(),
    title="supportsite API",
    version="1.0",
    description="Grounded answers from the help centre's FAQ articles, and personal recommendations.",
    urls_namespace="api",
)
api.add_router("/", faq_router)
api.add_router("/", recommendations_router)


def _error(request: HttpRequest, status: int, message: str, **extra) -> HttpResponse:
    return api.create_response(request, error_body(request, message, **extra), status=status)


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
    if isinstance(exc.__cause__, BodyProblem):
        return _error(request, exc.__cause__.status, str(exc.__cause__))
    return _error(request, exc.status_code, str(exc))


@api.exception_handler(RateLimited)
def rate_limited(request: HttpRequest, exc: RateLimited) -> HttpResponse:
    return with_retry_after(_error(request, 429, exc.message), exc)


@api.exception_handler(RequestDataTooBig)
def body_too_large(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return _error(request, 413, f"the request body is larger than {limit} bytes (DATA_UPLOAD_MAX_MEMORY_SIZE)")


@api.exception_handler(AuthenticationError)
def authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _error(request, 401, "authentication required")
