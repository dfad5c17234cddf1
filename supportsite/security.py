"""Security pieces Django leaves to the project: the CSRF failure page rendered off the event
loop, and the Content-Security-Policy header."""

from __future__ import annotations

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
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


class ContentSecurityPolicyMiddleware:
    """Every response carries CONTENT_SECURITY_POLICY: the site's pages load scripts, styles and
    sockets from their own origin only (no inline script or style anywhere, so injected markup
    cannot run), and no other site may frame them. Sync and async alike, no thread hop."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response) -> None:
        self.get_response = get_response
        self.policy = settings.CONTENT_SECURITY_POLICY
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self.__acall__(request)
        return self._with_policy(self.get_response(request))

    async def __acall__(self, request):
        return self._with_policy(await self.get_response(request))

    def _with_policy(self, response):
        if self.policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = self.policy
        return response
