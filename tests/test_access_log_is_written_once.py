"""Each request's access log line is Daphne's (stdout); Twisted's own combined-log line, which went
to Twisted's legacy log where nothing reads it, is no longer formatted (supportsite/http_server.py)."""

from __future__ import annotations

import io

from twisted.web import http

from supportsite.http_server import HTTPFactory


def test_twisteds_own_access_log_line_is_not_formatted_or_written():
    factory = HTTPFactory.__new__(HTTPFactory)  # no server needed: only the log hook is used
    written = io.StringIO()
    factory._logFile = written
    formatted = []
    factory._logFormatter = lambda *args: formatted.append(args) or "line"
    factory._logDateTime = "now"
    factory.log(object())  # a request: only the formatter would read it
    assert (formatted, written.getvalue()) == ([], "")
    # Twisted's own factory would have written it: the hook above is what stops it.
    http.HTTPFactory.log(factory, object())
    assert written.getvalue() == "line\n"
