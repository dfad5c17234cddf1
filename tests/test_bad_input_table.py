"""Bad input anywhere gets a 4xx naming the problem, over real HTTP to Daphne, and stores nothing.

One table: each row is a request as raw bytes (so invalid UTF-8, NUL and broken JSON reach the
server as a client would send them), the statuses it may get, and words its error must contain.
"""

from __future__ import annotations

import html
import json
import re
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.cookiejar import CookieJar
from urllib.parse import urlencode

import pytest

from faq.models import FaqDocument, Feedback, UserResponse
from tests.conftest import add_articles

pytestmark = pytest.mark.timeout(120)

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
SEARCH = "/api/ai_faq_search"
RECOMMEND = "/api/recommendations"
# Django's DATA_UPLOAD_MAX_MEMORY_SIZE is 2.5 MB: send a little more than that.
OVERSIZED = 2_621_440 + 100_000


@dataclass(frozen=True)
class Bad:
    name: str
    method: str
    path: str
    body: bytes | dict | None = None  # a dict is a form, sent with the page's CSRF token
    content_type: str | None = None
    statuses: tuple[int, ...] = (422,)
    names: tuple[str, ...] = ()  # each must appear in the error text (case-insensitive)
    csrf: bool = True  # forms only: include the token from the page
    marks: tuple = field(default=())

    @property
    def api(self) -> bool:
        return self.path.startswith("/api/")


def _json(value) -> bytes:
    return json.dumps(value).encode()


ROWS = [
    # The search API.
    Bad("api-empty-query", "POST", SEARCH, _json({"query": ""}), JSON, names=("query", "empty")),
    Bad("api-whitespace-query", "POST", SEARCH, _json({"query": " \t\n  "}), JSON, names=("query", "empty")),
    Bad(
        "api-10000-char-query",
        "POST",
        SEARCH,
        _json({"query": ("refund " * 1429)[:10_000]}),
        JSON,
        names=("QUERY_MAX_LENGTH",),
    ),
    Bad("api-nul-in-query", "POST", SEARCH, b'{"query": "refund\\u0000 please"}', JSON, names=("NUL",)),
    Bad(
        "api-invalid-utf8-body",
        "POST",
        SEARCH,
        b'{"query": "refund \xff\xfe\xfd"}',
        JSON,
        statuses=(400, 422),
        names=("not valid UTF-8",),
    ),
    Bad("api-malformed-json", "POST", SEARCH, b'{"query": "refund', JSON, statuses=(400,), names=("not valid JSON",)),
    Bad("api-json-list", "POST", SEARCH, _json(["refund"]), JSON, statuses=(400, 422), names=("object",)),
    Bad("api-json-string", "POST", SEARCH, _json("refund"), JSON, statuses=(400, 422), names=("object",)),
    Bad("api-query-is-a-number", "POST", SEARCH, _json({"query": 42}), JSON, names=("query", "string")),
    Bad("api-user-id-is-text", "POST", SEARCH, _json({"query": "refund", "user_id": "me"}), JSON, names=("user_id",)),
    Bad("api-unknown-field", "POST", SEARCH, _json({"query": "refund", "colour": "red"}), JSON, names=("colour",)),
    Bad(
        "api-unknown-category",
        "POST",
        SEARCH,
        _json({"query": "refund", "category": "no-such-category"}),
        JSON,
        names=("category", "no-such-category"),
    ),
    Bad(
        "api-oversized-body",
        "POST",
        SEARCH,
        _json({"query": "a" * OVERSIZED}),
        JSON,
        statuses=(400, 413),
        names=("DATA_UPLOAD_MAX_MEMORY_SIZE",),
    ),
    Bad(
        "api-search-get",
        "GET",
        SEARCH,
        statuses=(405,),
        names=("method",),
    ),
    Bad(
        "api-text-plain-body",
        "POST",
        SEARCH,
        _json({"query": "refund"}),
        "text/plain",
        statuses=(400, 415, 422),
        names=("Content-Type", "application/json"),
    ),
    # The recommendations API.
    Bad("api-limit-is-text", "POST", RECOMMEND, _json({"limit": "five"}), JSON, names=("limit",)),
    Bad("api-limit-negative", "POST", RECOMMEND, _json({"limit": -3}), JSON, names=("limit",)),
    Bad("api-limit-zero", "POST", RECOMMEND, _json({"limit": 0}), JSON, names=("limit",)),
    Bad("api-limit-huge", "POST", RECOMMEND, _json({"limit": 10**30}), JSON, names=("limit",)),
    Bad("api-recommend-user-id-is-text", "POST", RECOMMEND, _json({"user_id": "me"}), JSON, names=("user_id",)),
    Bad("api-recommend-unknown-field", "POST", RECOMMEND, _json({"limit": 3, "count": 3}), JSON, names=("count",)),
    Bad(
        "api-recommend-malformed-json",
        "POST",
        RECOMMEND,
        b"{limit: 3}",
        JSON,
        statuses=(400,),
        names=("not valid JSON",),
    ),
    Bad(
        "api-recommend-get",
        "GET",
        RECOMMEND,
        statuses=(405,),
        names=("method",),
    ),
    # The search page.
    Bad("page-10000-char-query", "GET", "/search?q=" + "a" * 10_000, statuses=(400,), names=("the limit is 1000",)),
    Bad("page-nul-in-query", "GET", "/search?q=refund%00please", statuses=(400,), names=("NUL",)),
    Bad(
        "page-unknown-category",
        "GET",
        "/search?q=refund&category=no-such-category",
        statuses=(400,),
        names=("no category", "no-such-category"),
    ),
    Bad(
        "page-invalid-percent-encoding",
        "GET",
        "/search?q=%ff%fe",
        statuses=(400,),
        names=("not valid",),
    ),
    # The feedback form.
    Bad("feedback-missing-fields", "POST", "/feedback", {}, FORM, statuses=(400,), names=("Yes", "No")),
    Bad(
        "feedback-response-not-an-answer-link",
        "POST",
        "/feedback",
        {"response": "abc", "helpful": "yes"},
        FORM,
        statuses=(400,),
        names=("link is not valid",),
    ),
    Bad(
        "feedback-unknown-document",
        "POST",
        "/feedback",
        {"document": "no-such-article", "helpful": "yes"},
        FORM,
        statuses=(400,),
        names=("no article", "no-such-article"),
    ),
    Bad(
        "feedback-comment-too-long",
        "POST",
        "/feedback",
        {"document": "reset-password", "helpful": "no", "comment": "x" * 2001},
        FORM,
        statuses=(400,),
        names=("2001 characters", "limit is 2000"),
    ),
    Bad(
        "feedback-without-csrf-token",
        "POST",
        "/feedback",
        {"document": "reset-password", "helpful": "yes"},
        FORM,
        statuses=(403,),
        names=("could not be checked",),
        csrf=False,
    ),
]


def send(
    opener: urllib.request.OpenerDirector,
    url: str,
    *,
    method: str,
    body: bytes | None = None,
    content_type: str | None = None,
    accept: str = JSON,
) -> tuple[int, str, bytes]:
    """Send raw bytes; return (status, content type, body) whatever the status."""
    request = urllib.request.Request(url, data=body, method=method, headers={"Accept": accept})
    if content_type is not None:
        request.add_header("Content-Type", content_type)
    try:
        with opener.open(request, timeout=60) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers.get("Content-Type", ""), error.read()


def stored_counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in (UserResponse, Feedback, FaqDocument)}


@pytest.fixture
def opener(server_url, transactional_db):
    """A cookie-keeping client, the articles, and the page's CSRF token (already in the jar)."""
    add_articles("reset-password", "track-order", "return-window", "refund-timing")
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    status, _, page = send(opener, server_url + "/articles/reset-password/", method="GET", accept="text/html")
    assert status == 200
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token is not None, "the article page has a feedback form with a CSRF token"
    opener.csrf_token = token.group(1).decode()
    return opener


@pytest.fixture
def server_url(live_server_url) -> str:
    return live_server_url


def _error_text(row: Bad, content_type: str, body: bytes) -> str:
    if row.api:
        assert content_type.startswith(JSON), f"the API answers JSON, not {content_type!r}: {body[:300]!r}"
        payload = json.loads(body)
        assert isinstance(payload, dict) and isinstance(payload.get("error"), str) and payload["error"], payload
        return payload["error"]
    assert content_type.startswith("text/html"), f"a page, not {content_type!r}"
    return html.unescape(body.decode("utf-8", "replace"))


@pytest.mark.parametrize("row", [pytest.param(row, id=row.name, marks=row.marks) for row in ROWS])
def test_bad_input_gets_a_4xx_that_names_the_problem_and_stores_nothing(row: Bad, opener, server_url):
    body = row.body
    if isinstance(body, dict):
        fields = {"csrfmiddlewaretoken": opener.csrf_token, **body} if row.csrf else body
        body = urlencode(fields).encode()
    before = stored_counts()

    status, content_type, answer = send(
        opener,
        server_url + row.path,
        method=row.method,
        body=body,
        content_type=row.content_type,
        accept=JSON if row.api else "text/html",
    )

    assert status < 500, f"{row.method} {row.path[:80]} gave a server error {status}: {answer[:500]!r}"
    assert status in row.statuses, f"expected {row.statuses}, got {status}: {answer[:500]!r}"
    text = _error_text(row, content_type, answer)
    for word in row.names:
        assert word.lower() in text.lower(), f"the error does not name {word!r}: {text[:800]!r}"
    assert stored_counts() == before
