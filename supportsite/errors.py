"""Refusals in the caller's own format: one rule for who gets JSON, one JSON error body.

Every JSON refusal is {"error": "what is wrong, in words", "request_id": "..."} (plus fields such
as the 422 `detail`), so a customer can quote the id to support wherever the refusal came from.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render


def wants_json(request: HttpRequest) -> bool:
    """The API always speaks JSON; elsewhere a caller gets JSON when it asks for JSON and not for
    HTML (our scripts send Accept: application/json; a browser's form post accepts text/html)."""
    if request.path.startswith("/api/"):
        return True
    return request.accepts("application/json") and not request.accepts("text/html")


def error_body(request: HttpRequest, message: str, **extra) -> dict:
    return {"error": message, "request_id": getattr(request, "request_id", ""), **extra}


def json_error(request: HttpRequest, status: int, message: str, **extra) -> JsonResponse:
    return JsonResponse(error_body(request, message, **extra), status=status)


def problem(request: HttpRequest, status: int, message: str) -> HttpResponse:
    """A 4xx naming what was wrong: JSON for scripts, else the site's page for that status."""
    if wants_json(request):
        return json_error(request, status, message)
    return render(request, f"{status}.html", {"problem": message}, status=status)
