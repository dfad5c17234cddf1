"""Daphne refuses a request body over DATA_UPLOAD_MAX_MEMORY_SIZE with a 413 before reading it.

Twisted (under Daphne) takes in the whole body, to memory or a temporary file, before the ASGI
application sees the request, so neither Django's own limit (checked when a view reads
request.body) nor an ASGI middleware can stop a 100 MB upload from being read. The limit is
applied where Twisted learns the length: a declared Content-Length over it is answered at once,
and a chunked body is refused as soon as it passes it. The rest is read and dropped, and the
connection closed within a few seconds."""

from __future__ import annotations

import json
import logging

from daphne import http_protocol
from django.conf import settings
from django.template.loader import render_to_string
from twisted.internet import reactor

logger = logging.getLogger(__name__)
# How long an answered connection may go on sending before it is closed.
_DRAIN_SECONDS = 2.0


def _drop(data: bytes) -> None:
    """What a refused connection does with the rest of its body."""


class LimitedWebRequest(http_protocol.WebRequest):
    _refused = False
    _received = 0

    def gotLength(self, length):  # Twisted's names
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and length is not None and length > limit:
            self._refuse(limit)
            length = 0  # nothing of it is kept: no temporary file for the announced size
        super().gotLength(length)

    def handleContentChunk(self, data):
        if self._refused:
            return
        self._received += len(data)
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and self._received > limit:
            self._refuse(limit)
            return
        super().handleContentChunk(data)

    def requestReceived(self, command, path, version):
        if not self._refused:
            super().requestReceived(command, path, version)

    def _refuse(self, limit: int) -> None:
        self._refused = True
        # Twisted would answer "Expect: 100-continue" after this; the client must not send the body.
        self.requestHeaders.removeHeader(b"Expect")
        path = getattr(self.channel, "_path", b"").decode("latin-1")
        accept = b",".join(self.requestHeaders.getRawHeaders(b"Accept") or []).decode("latin-1")
        problem = f"the request body is larger than {limit} bytes (DATA_UPLOAD_MAX_MEMORY_SIZE)"
        logger.warning("refused a request body over %s bytes: %s", limit, path[:200])
        if path.startswith("/api/") or "application/json" in accept:
            body, content_type = json.dumps({"error": problem}).encode(), b"application/json"
        else:
            body = render_to_string("413.html", {"problem": problem}).encode()
            content_type = b"text/html; charset=utf-8"
        head = (
            b"HTTP/1.1 413 Content Too Large\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
            % (content_type, len(body))
        )
        channel = self.channel
        channel.transport.write(head + body)
        # Read and drop what the client still sends, then close: closing with unread data would
        # reset the connection, and a client still writing its body would never see the 413.
        channel.dataReceived = _drop
        reactor.callLater(_DRAIN_SECONDS, channel.transport.loseConnection)


def install() -> None:
    """Make Daphne's HTTP factory build LimitedWebRequest (it looks the class up on each connection)."""
    http_protocol.WebRequest = LimitedWebRequest
