"""The express lane: anonymous JSON calls to a hot API endpoint answered without Django's request
handler, with the same view code and the same response.

Why: profiled under load (32 clients), one process spent about 3 ms of its single core on Django's
request cycle for even an empty view: a new thread per request for the request_started receivers
(ThreadSensitiveContext), a second hop for response.close, two tasks per request and sixteen
middleware, none of which does anything for an anonymous JSON call. Daphne alone answers the same
call in under 0.5 ms.

What stays exactly as in Django's path, by calling the same code:
- the view's own work (`faq.api.express_search` runs what the ninja view runs) and its errors: a
  refusal (HttpError, RateLimited) is answered by the API's own exception handlers, a database
  outage by DatabaseUnavailableMiddleware, anything else by Django's 500 handling;
- request ids, the Prometheus request metrics (django-prometheus' own middleware methods), the
  security headers and CSP (the middleware's own process_response), `Vary: Cookie`;
- replica routing: the call reads a replica, and runs again on the primary if the replica is found
  down before anything was written, as ReplicaReadsMiddleware does;
- request_finished (the pool gauges, per-worker request counts).

Only an anonymous caller rides the lane: a request with an Authorization header or a session
cookie, with a body that is not a JSON object the endpoint accepts (`parse` returns None), with
a Host that ALLOWED_HOSTS refuses, or under a path prefix (root_path, FORCE_SCRIPT_NAME) goes to
Django, with its body replayed. So identity, CSRF and
every 4xx wording are Django's by construction. EXPRESS_API=false turns the lane off.
"""

from __future__ import annotations

import asyncio
import contextvars
import io
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.core.handlers.asgi import ASGIHandler, ASGIRequest
from django.core.handlers.exception import response_for_exception
from django.db import connections
from django.http import HttpRequest, HttpResponse
from django.urls import ResolverMatch, resolve
from django.utils.cache import patch_vary_headers
from ninja.errors import HttpError

from supportsite import metrics, security
from supportsite import middleware as site_middleware
from supportsite.db_router import replica_failed, replica_reads
from supportsite.logs import request_id_var
from supportsite.ratelimit import RateLimited

logger = logging.getLogger(__name__)
_JSON_TYPES = frozenset({b"application/json", b"application/json; charset=utf-8"})


@dataclass(frozen=True)
class Route:
    path: str
    # On the event loop: the body's JSON object -> the view's payload, or None for Django to answer.
    parse: Callable[[dict], Any | None]
    # In a worker thread: (request, payload) -> the 200 response's data; raises as the view would.
    answer: Callable[[HttpRequest, Any], dict]
    # On the event loop, between the two: (scope, payload) -> the payload `answer` gets, after
    # whatever waiting needs no thread (a new question's vector from the model process).
    ahead: Callable[[dict, Any], Awaitable[Any]] | None = None


class _Fallback(Exception):
    """This request is Django's to answer."""


def _noop(request):  # get_response for middleware used only for their hooks
    raise AssertionError("not called")


class ExpressLane:
    """ASGI wrapper around Django's application (see the module doc)."""

    def __init__(self, django_app: ASGIHandler, routes: list[Route]) -> None:
        self.django_app = django_app
        self.routes = {route.path: route for route in routes}
        self._matches: dict[str, ResolverMatch] = {}
        # The response side of the middleware an API response passes through, innermost first.
        self._prometheus_before = site_middleware.PrometheusBeforeMiddleware(_noop)
        self._prometheus_after = site_middleware.PrometheusAfterMiddleware(_noop)
        self._finishers = [
            site_middleware.XFrameOptionsMiddleware(_noop).process_response,
            site_middleware.CommonMiddleware(_noop).process_response,
            _vary_on_cookie,
            site_middleware.SecurityMiddleware(_noop).process_response,
            _ignoring_request(security.ContentSecurityPolicyMiddleware(_noop)._with_policy),
        ]
        self._database_down = site_middleware.DatabaseUnavailableMiddleware(_noop)

    async def __call__(self, scope, receive, send) -> None:
        route = self._route(scope)
        if route is None:
            return await self.django_app(scope, receive, send)
        messages, body = await _read_body(receive)
        if body is None:
            return  # the client went away
        payload = _parse(route, scope, body)
        if payload is not None and route.ahead is not None:
            payload = await route.ahead(scope, payload)
        if payload is not None:
            context = contextvars.copy_context()
            loop = asyncio.get_running_loop()
            try:
                response = await loop.run_in_executor(None, context.run, self._respond, route, scope, body, payload)
            except _Fallback:
                pass
            else:
                metrics.EXPRESS_LANE.labels(lane="express").inc()
                await self.django_app.send_response(response, send)
                return
        metrics.EXPRESS_LANE.labels(lane="django").inc()
        await self.django_app(scope, _replay(messages, receive), send)

    def _route(self, scope) -> Route | None:
        if scope["type"] != "http" or scope["method"] != "POST" or not settings.EXPRESS_API:
            return None
        route = self.routes.get(scope["path"])
        if route is None or scope.get("root_path") or settings.FORCE_SCRIPT_NAME:
            return None  # under a path prefix Django sets the script prefix that URLs are built with
        for name, value in scope["headers"]:
            if name == b"authorization" or (name == b"cookie" and settings.SESSION_COOKIE_NAME.encode() in value):
                metrics.EXPRESS_LANE.labels(lane="django").inc()
                return None
        return route

    def _respond(self, route: Route, scope, body: bytes, payload) -> HttpResponse:
        """In a worker thread, as the view's work would be."""
        try:
            request = ASGIRequest(scope, io.BytesIO(body))
            request.get_host()
        except (DisallowedHost, UnicodeDecodeError):
            raise _Fallback from None  # Django answers 400 (and logs a refused host)
        request.request_id = site_middleware.request_id_for(request)
        token = request_id_var.set(request.request_id)
        try:
            self._prometheus_before.process_request(request)
            self._prometheus_after.process_request(request)
            request.resolver_match = match = self._match(route.path)
            self._prometheus_after.process_view(request, match.func, match.args, match.kwargs)
            try:
                response = self._answer(route, request, payload)
            except Exception as exc:
                self._prometheus_after.process_exception(request, exc)
                response = self._database_down.process_exception(request, exc) or response_for_exception(request, exc)
            response = self._prometheus_after.process_response(request, response)
            for finish in self._finishers:
                response = finish(request, response)
            response[site_middleware.HEADER] = request.request_id
            response = self._prometheus_before.process_response(request, response)
            response.close()  # request_finished, as Django sends it
            return response
        finally:
            request_id_var.reset(token)
            connections.close_all()  # back to the pool, as supportsite.concurrency.in_thread does

    def _answer(self, route: Route, request: HttpRequest, payload) -> HttpResponse:
        from supportsite import api  # the API's own exception handlers (it imports the apps' routers)

        try:
            with replica_reads(active=True) as scope:
                try:
                    data = route.answer(request, payload)
                except site_middleware.DATABASE_OUTAGES as exc:
                    if not (replica_failed(exc) and scope is not None and not scope.wrote):
                        raise
                    data = None
            if data is None:  # the replica was down: once more, on the primary
                data = route.answer(request, payload)
        except RateLimited as exc:
            return api.rate_limited(request, exc)
        except HttpError as exc:
            return api.http_error(request, exc)
        return api.api.create_response(request, data, status=200)

    def _match(self, path: str) -> ResolverMatch:
        match = self._matches.get(path)
        if match is None:
            match = self._matches[path] = resolve(path)
        return match


def _ignoring_request(finish: Callable[[HttpResponse], HttpResponse]) -> Callable:
    return lambda request, response: finish(response)


def _vary_on_cookie(request, response):
    # The answer depends on who is signed in, as the session middleware marks in Django's path.
    patch_vary_headers(response, ("Cookie",))
    return response


def _parse(route: Route, scope, body: bytes):
    content_type = b""
    for name, value in scope["headers"]:
        if name == b"content-type":
            content_type = value.lower()
    if content_type not in _JSON_TYPES or len(body) > (settings.DATA_UPLOAD_MAX_MEMORY_SIZE or len(body)):
        return None
    try:
        data = json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return None
    return route.parse(data) if isinstance(data, dict) else None


async def _read_body(receive) -> tuple[list[dict], bytes | None]:
    messages, chunks = [], []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] == "http.disconnect":
            return messages, None
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return messages, b"".join(chunks)


def _replay(messages: list[dict], receive):
    pending = list(messages)

    async def replayed():
        return pending.pop(0) if pending else await receive()

    return replayed
