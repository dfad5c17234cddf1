"""Security pieces Django leaves to the project: the CSRF failure page rendered off the event
loop, and (below) the headers and request limits the site adds."""

from __future__ import annotations

from django.http import HttpRequest
from django.template.response import TemplateResponse


def csrf_failure(request: HttpRequest, reason: str = "") -> TemplateResponse:
    """CSRF_FAILURE_VIEW: the 403 page, rendered later by Django's handler.

    Under ASGI the CSRF middleware runs on the event loop (supportsite/middleware.py), and
    Django's own failure view renders there at once: the page's header asks whether the visitor
    is signed in, which loads the session from the database on the event loop and fails with
    SynchronousOnlyOperation (a 500). A TemplateResponse is rendered by the handler in its sync
    thread, where the session may be read."""
    return TemplateResponse(request, "403_csrf.html", {"reason": reason}, status=403)
