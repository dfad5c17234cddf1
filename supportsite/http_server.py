"""Daphne as `manage.py serve` runs it, answering a request line or headers over the limit.

Twisted, under Daphne, reads at most 16,384 bytes of request line and 16,384 of headers (with the
request line) per request. Over that it drops the connection without a word (a long line) or sends
a bare "400 Bad Request" (too many header bytes or lines), so a visitor following a long
`/search?q=` link sees "connection reset" and an API client a network error. Here the same limits
answer 414 URI Too Long or 431 Request Header Fields Too Large, with a short page (JSON under
/api/), and then close.

`python -m supportsite.http_server ARGS` takes Daphne's own arguments (serve --workers starts it so).
"""

from __future__ import annotations

import gc
import json
import threading
import uuid

import daphne.cli
import daphne.http_protocol
import daphne.server
from twisted.internet import reactor
from twisted.web import http

# After answering, the rest of what the client sends is read and dropped (closing with unread
# data would reset the connection and could destroy the answer before the client reads it); it
# gets this long to finish before the connection is cut.
_DRAIN_SECONDS = 5.0

# Twisted's table has no 431 (RFC 6585).
_REASONS = {414: b"URI Too Long", 431: b"Request Header Fields Too Large"}

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>
<body><h1>{title}</h1><p>{detail}</p><p><a href="/">Back to the help centre</a></p></body></html>
"""


class LimitAnsweringChannel(http.HTTPChannel):
    """Twisted's HTTP/1.1 channel, but over-long request lines and headers get an HTTP answer."""

    _answered = False

    def lineLengthExceeded(self, line: bytes) -> None:
        # No line of this request received yet: the one too long is the request line itself.
        if self._receivedHeaderSize == 0:
            path = _path_of(line)
            self._answer(414, path, f"the request line (method and address) is over {self.MAX_LENGTH:,} bytes")
        else:
            self._answer(431, self._request_path(), f"a request header line is over {self.MAX_LENGTH:,} bytes")

    def lineReceived(self, line: bytes) -> None:
        if self._answered:
            return
        if self._receivedHeaderSize + len(line) > self.totalHeadersSize:
            self._answer(
                431, self._request_path(), f"the request's headers are over {self.totalHeadersSize:,} bytes in all"
            )
            return
        super().lineReceived(line)

    def headerReceived(self, line: bytes) -> bool:
        if self._receivedHeaderCount >= self.maxHeaders:
            self._answer(431, self._request_path(), f"the request has more than {self.maxHeaders} headers")
            return False
        return super().headerReceived(line)

    def _request_path(self) -> bytes:
        return getattr(self, "_path", b"") or b""

    def _answer(self, status: int, path: bytes, problem: str) -> None:
        if self._answered:
            return
        self._answered = True
        request_id = uuid.uuid4().hex
        if path.startswith(b"/api/"):
            body = json.dumps({"error": problem, "request_id": request_id}).encode()
            content_type = b"application/json"
        else:
            title = "That address is too long" if status == 414 else "The request's headers are too large"
            advice = (
                "Shorten the search or link and try again."
                if status == 414
                else "Clear this site's cookies, or send smaller headers, and try again."
            )
            body = _PAGE.format(title=title, detail=f"The server refused it: {problem}. {advice}").encode()
            content_type = b"text/html; charset=utf-8"
        reason = _REASONS[status]
        head = (
            b"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nX-Request-ID: %s\r\nConnection: close\r\n\r\n"
            % (status, reason, content_type, len(body), request_id.encode())
        )
        self.transport.write(head + body)
        # Read and drop the rest, close our side once the answer is sent, and cut it after a while.
        self.dataReceived = _drop
        self.setTimeout(None)
        self.transport.loseWriteConnection()
        self._cut = reactor.callLater(_DRAIN_SECONDS, self.transport.abortConnection)

    def connectionLost(self, reason) -> None:
        cut = getattr(self, "_cut", None)
        if cut is not None and cut.active():
            cut.cancel()
        super().connectionLost(reason)


GC_YOUNG_THRESHOLD = 20_000


def _settle() -> None:
    """Before serving: start the question model's process, and take what start-up built out of the
    garbage collector's sight.

    The model process loads its model in the background (about a second), so the first question
    does not pay for it and the port opens at once. `gc.freeze()` moves every object alive now
    (Django, the URL patterns, Twisted, the model's Python side) into a permanent generation that
    collections no longer traverse: under load a full collection walked them all, at once for a
    hundred milliseconds and more (bench in the README's load section). Young collections then run
    less often (GC_YOUNG_THRESHOLD).
    """
    from faq.embeddings import warm_query_model

    threading.Thread(target=warm_query_model, name="warm-query-model", daemon=True).start()
    gc.collect()
    gc.freeze()
    # A request allocates thousands of objects, nearly all freed by reference counting: at Python's
    # default (a young collection every 700 allocations) the collector ran several times a request
    # (perf under load: 2.5% of the machine). Every 20,000 (32 clients, every question new, two
    # alternating pairs): the server's CPU 1.85-1.88 ms a question against 2.14-2.52, 328 / 337
    # req/s against 283 / 320. Cyclic garbage waits a little longer: a few MB at most.
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])


def _drop(data: bytes) -> None:
    """What an answered connection does with more bytes."""


def _path_of(request_line_start: bytes) -> bytes:
    parts = request_line_start[:256].split(b" ", 2)
    return parts[1] if len(parts) > 1 else b""


class HTTPFactory(daphne.http_protocol.HTTPFactory):
    def protocol(self) -> http._GenericHTTPChannelProtocol:  # Twisted's factory hook, a method here
        return http._GenericHTTPChannelProtocol(LimitAnsweringChannel())

    def log(self, request) -> None:
        """Nothing: Daphne writes the access log line (its AccessLogGenerator, on stdout). Twisted's
        factory also formatted a combined-log line for every request and handed it to Twisted's
        legacy log, which nothing here reads (py-spy under load: 2.3% of the server's CPU)."""


class Server(daphne.server.Server):
    """Daphne's server with HTTPFactory above: its run() makes its own factory, which we replace."""

    def run(self) -> None:
        _settle()
        super().run()

    @property
    def http_factory(self) -> HTTPFactory:
        return self.__dict__["http_factory"]

    @http_factory.setter
    def http_factory(self, factory: daphne.http_protocol.HTTPFactory) -> None:
        self.__dict__["http_factory"] = factory if isinstance(factory, HTTPFactory) else HTTPFactory(self)


class CommandLineInterface(daphne.cli.CommandLineInterface):
    server_class = Server


if __name__ == "__main__":
    CommandLineInterface.entrypoint()
