"""Middleware: request ids, static files, and Django's own middleware kept off the sync thread."""

from __future__ import annotations

import logging
import re
import uuid

import django_prometheus.middleware as _prometheus
from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings as django_settings
from django.contrib.auth import middleware as _auth
from django.contrib.messages import middleware as _messages
from django.contrib.sessions import middleware as _sessions
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from django.middleware import clickjacking as _clickjacking
from django.middleware import common as _common
from django.middleware import csrf as _csrf
from django.middleware import security as _security
from django.template.loader import render_to_string
from psycopg_pool import PoolTimeout, TooManyRequests
from whitenoise.middleware import WhiteNoiseMiddleware

from supportsite.errors import json_error, wants_json
from supportsite.logs import request_id_var

logger = logging.getLogger(__name__)
HEADER = "X-Request-ID"
# A client's id is echoed into headers and logs: accept only short, plain tokens.
_SAFE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def request_id_for(request) -> str:
    incoming = request.headers.get(HEADER, "")
    return incoming if _SAFE.match(incoming) else uuid.uuid4().hex


class HybridMiddleware:
    """Works in Django's sync and async request paths alike (no thread hop in either)."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response) -> None:
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)


class RequestIdMiddleware(HybridMiddleware):
    def __call__(self, request):
        if iscoroutinefunction(self):
            return self.__acall__(request)
        request.request_id = request_id_for(request)
        token = request_id_var.set(request.request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response[HEADER] = request.request_id
        return response

    async def __acall__(self, request):
        request.request_id = request_id_for(request)
        # Context variables follow the request into sync_to_async threads, so logs there carry it too.
        token = request_id_var.set(request.request_id)
        try:
            response = await self.get_response(request)
        finally:
            request_id_var.reset(token)
        response[HEADER] = request.request_id
        return response


class StaticFilesMiddleware(WhiteNoiseMiddleware):
    """WhiteNoise, able to run in Django's async request path.

    WhiteNoise's middleware is sync-only; in an async chain Django would then run every request
    through its single sync thread, one at a time. Static hits are answered from memory either way.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response=None, settings=django_settings) -> None:
        super().__init__(get_response, settings)
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self.__acall__(request)
        return super().__call__(request)

    async def __acall__(self, request):
        static_file = self.find_file(request.path_info) if self.autorefresh else self.files.get(request.path_info)
        if static_file is not None:
            return self.serve(static_file, request)
        return await self.get_response(request)


def on_event_loop(cls: type) -> type:
    """The same middleware, with its hooks run on the event loop instead of Django's sync thread.

    Under ASGI, Django's MiddlewareMixin runs every process_request/process_view/process_response
    through sync_to_async(thread_sensitive=True): two thread hops per middleware per request, all
    through ONE thread shared by every request. For hooks that only read headers and cookies and
    set attributes (no I/O), that thread buys nothing and caps throughput. Only wrap such classes.
    """

    class OnEventLoop(cls):
        def __init__(self, get_response) -> None:
            super().__init__(get_response)
            if self.async_mode and hasattr(cls, "process_view"):
                # Django adapts a sync process_view with a thread hop; an async one runs inline.
                async def process_view(request, view_func, view_args, view_kwargs):
                    return cls.process_view(self, request, view_func, view_args, view_kwargs)

                self.process_view = process_view

        async def __acall__(self, request):
            response = self.process_request(request) if hasattr(self, "process_request") else None
            response = response or await self.get_response(request)
            if hasattr(self, "process_response"):
                response = await self._respond(request, response)
            return response

        async def _respond(self, request, response):
            return self.process_response(request, response)

    OnEventLoop.__name__ = OnEventLoop.__qualname__ = cls.__name__
    # Django's deploy checks look middleware up by its real name (supportsite/checks.py).
    OnEventLoop.wraps = cls
    OnEventLoop.__module__ = __name__
    return OnEventLoop


SecurityMiddleware = on_event_loop(_security.SecurityMiddleware)
CommonMiddleware = on_event_loop(_common.CommonMiddleware)
CsrfViewMiddleware = on_event_loop(_csrf.CsrfViewMiddleware)
AuthenticationMiddleware = on_event_loop(_auth.AuthenticationMiddleware)
MessageMiddleware = on_event_loop(_messages.MessageMiddleware)
XFrameOptionsMiddleware = on_event_loop(_clickjacking.XFrameOptionsMiddleware)
PrometheusBeforeMiddleware = on_event_loop(_prometheus.PrometheusBeforeMiddleware)
PrometheusAfterMiddleware = on_event_loop(_prometheus.PrometheusAfterMiddleware)


class SessionMiddleware(on_event_loop(_sessions.SessionMiddleware)):
    """Sessions load lazily (in whichever thread first reads them); saving one is database work,
    so only a response whose session changed goes through the sync thread."""

    async def _respond(self, request, response):
        session = getattr(request, "session", None)
        if session is not None and (session.modified or django_settings.SESSION_SAVE_EVERY_REQUEST):
            return await sync_to_async(self.process_response, thread_sensitive=True)(request, response)
        return self.process_response(request, response)


DATABASE_DOWN = "Our database is not answering right now. Please try again in a few seconds."
# What a database outage looks like from here: a refused or dropped connection, or no free
# connection in the pool within DB_POOL_TIMEOUT.
DATABASE_OUTAGES: tuple[type[BaseException], ...] = (OperationalError, InterfaceError, PoolTimeout, TooManyRequests)


class DatabaseUnavailableMiddleware(HybridMiddleware):
    """A database outage or an exhausted pool answers 503 with Retry-After, quickly and in the
    caller's format, instead of a 500; the pool reconnects by itself when the database returns."""

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, DATABASE_OUTAGES):
            return None
        from supportsite import metrics

        metrics.count_connection_error(exception)
        logger.warning("database unavailable: %s: %s", type(exception).__name__, exception)
        if wants_json(request):
            response = json_error(request, 503, DATABASE_DOWN)
        else:
            response = HttpResponse(
                render_to_string("503.html", {"problem": DATABASE_DOWN}), status=503, content_type="text/html"
            )
        response["Retry-After"] = "5"
        return response


class ApiMethodNotAllowedMiddleware(HybridMiddleware):
    """The API speaks JSON, also when Ninja refuses a method with Django's plain-text 405."""

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self.__acall__(request)
        return self._as_json(request, self.get_response(request))

    async def __acall__(self, request):
        return self._as_json(request, await self.get_response(request))

    @staticmethod
    def _as_json(request, response):
        if response.status_code != 405 or not request.path.startswith("/api/"):
            return response
        if response.get("Content-Type", "").startswith("application/json"):
            return response
        allowed = response.get("Allow", "")
        replacement = json_error(request, 405, f"method {request.method} is not allowed here; use {allowed}")
        replacement["Allow"] = allowed
        return replacement
