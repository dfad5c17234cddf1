"""Request ids: taken from X-Request-ID (when sane) or generated, and returned in the response."""

from __future__ import annotations

import re
import uuid

from asgiref.sync import iscoroutinefunction, markcoroutinefunction

HEADER = "X-Request-ID"
# A client's id is echoed into headers and logs: accept only short, plain tokens.
_SAFE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def request_id_for(request) -> str:
    incoming = request.headers.get(HEADER, "")
    return incoming if _SAFE.match(incoming) else uuid.uuid4().hex


class RequestIdMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response) -> None:
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self.__acall__(request)
        request.request_id = request_id_for(request)
        response = self.get_response(request)
        response[HEADER] = request.request_id
        return response

    async def __acall__(self, request):
        request.request_id = request_id_for(request)
        response = await self.get_response(request)
        response[HEADER] = request.request_id
        return response
