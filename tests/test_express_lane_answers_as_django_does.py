"""The express lane (supportsite/express.py) answers anonymous questions exactly as Django's path
does: the same status, body, headers, history row, metrics and refusals; everything else is left
to Django. Two real Daphne processes on one database, the lane on and off, asked the same things."""

from __future__ import annotations

import json
import re

import pytest
import requests

from faq.models import Category, FaqDocument, UserResponse
from supportsite.models import ApiToken
from tests.conftest import a_fresh_window, add_articles, daphne_server

pytestmark = pytest.mark.django_db(transaction=True)

PATH = "/api/ai_faq_search"
# Headers that differ between any two responses.
VOLATILE = {"date", "x-request-id", "server"}


@pytest.fixture(scope="module")
def servers(django_db_setup, django_db_blocker):
    with (
        daphne_server(django_db_blocker) as lane,
        daphne_server(django_db_blocker, EXPRESS_API="false") as django_only,
    ):
        yield lane, django_only


@pytest.fixture
def articles():
    add_articles("reset-password", "track-order")
    FaqDocument.objects.create(
        slug="staff-notes",
        question="How do I reset a customer's password as an agent?",
        category=Category.objects.get_or_create(slug="internal", defaults={"name": "Internal"})[0],
        answer="Internal.",
        visibility=FaqDocument.Visibility.STAFF,
    )


def _post(base: str, body: bytes | str, *, content_type="application/json", **headers) -> requests.Response:
    data = body.encode() if isinstance(body, str) else body
    return requests.post(base + PATH, data=data, headers={"Content-Type": content_type, **headers}, timeout=60)


def _comparable(response: requests.Response) -> tuple:
    headers = {k.lower(): v for k, v in response.headers.items() if k.lower() not in VOLATILE}
    text = re.sub(r'"request_id": "[^"]*"', '"request_id": "-"', response.text)
    text = re.sub(r"http://127\.0\.0\.1:\d+/", "http://server/", text)  # each server's own port
    return response.status_code, headers, text


def _history(after_id: int, up_to_id: int | None = None) -> list[tuple]:
    rows = UserResponse.objects.filter(pk__gt=after_id).order_by("pk")
    if up_to_id is not None:
        rows = rows.filter(pk__lte=up_to_id)
    return [(r.query, r.response, r.matched, r.answered, r.answer_mode, r.category, r.user_id) for r in rows]


def _last_history_id() -> int:
    row = UserResponse.objects.order_by("-pk").first()
    return row.pk if row else 0


def _lane_count(base: str, lane: str) -> float:
    text = requests.get(base + "/metrics", timeout=30).text
    match = re.search(rf'^express_lane_requests_total\{{lane="{lane}"\}} (\S+)$', text, re.M)
    return float(match[1]) if match else 0.0


CASES = {
    "an answerable question": '{"query": "I forgot my password"}',
    "with every field": '{"query": "Where is my parcel?", "user_id": null, "category": null}',
    "in a category": '{"query": "I forgot my password", "category": "accounts"}',
    "an unknown category": '{"query": "I forgot my password", "category": "nope"}',
    "a staff-only category": '{"query": "reset a password as an agent", "category": "internal"}',
    "an empty question": '{"query": "   "}',
    "a question too long": json.dumps({"query": "x" * 1001}),
    "a user_id without credentials": '{"query": "hello there", "user_id": 3}',
    "an unknown field": '{"query": "hello there", "admin": true}',
    "a lone surrogate": '{"query": "\\ud800 help"}',
    "not an object": '["I forgot my password"]',
    "not JSON": "{query: nope}",
    "not UTF-8": b'{"query": "caf\xe9"}',
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_same_request_gets_the_same_response_and_history_row(servers, articles, case):
    lane, django_only = servers
    body = CASES[case]
    before = _last_history_id()
    first = _post(lane, body)
    middle = _last_history_id()
    second = _post(django_only, body)
    assert _comparable(first) == _comparable(second)
    assert first.status_code < 500
    by_lane, by_django = _history(before, middle), _history(middle)
    assert by_lane == by_django
    assert len(by_lane) == (1 if first.status_code == 200 else 0)


def test_a_staff_only_article_never_answers_through_the_lane(servers, articles):
    lane, _ = servers
    body = _post(lane, '{"query": "How do I reset a customer\'s password as an agent?"}').json()
    assert "staff-notes" not in {document["slug"] for document in body["documents"]}


def test_anonymous_questions_take_the_lane_and_everything_else_goes_to_django(servers, articles):
    lane, _ = servers
    express, django = _lane_count(lane, "express"), _lane_count(lane, "django")
    assert _post(lane, '{"query": "I forgot my password"}').status_code == 200
    assert _lane_count(lane, "express") == express + 1
    # Refused input, a token and a session cookie are Django's to answer.
    assert _post(lane, '{"query": ""}').status_code == 422
    assert _post(lane, '{"query": "hi there"}', Authorization="Bearer sst_nope").status_code == 401
    assert _post(lane, '{"query": "hi there"}', Cookie="sessionid=forged").status_code == 200
    assert _lane_count(lane, "django") == django + 3
    assert _lane_count(lane, "express") == express + 1


def test_a_staff_token_acting_for_a_user_is_answered_by_django_with_the_users_history(servers, articles):
    from django.contrib.auth.models import User

    lane, _ = servers
    staff = User.objects.create_user("agent", password="x", is_staff=True)
    customer = User.objects.create_user("customer", password="x")
    _, plain = ApiToken.issue(user=staff, name="desk")
    response = _post(
        lane, f'{{"query": "I forgot my password", "user_id": {customer.pk}}}', Authorization=f"Bearer {plain}"
    )
    assert response.status_code == 200
    assert UserResponse.objects.order_by("-pk").first().user_id == customer.pk


def test_a_refused_host_is_djangos_400(servers, articles):
    lane, django_only = servers
    first = _post(lane, '{"query": "I forgot my password"}', Host="evil.example")
    second = _post(django_only, '{"query": "I forgot my password"}', Host="evil.example")
    assert first.status_code == second.status_code == 400


def test_the_lane_counts_requests_in_the_request_metrics(servers, articles):
    lane, _ = servers
    series = (
        "django_http_requests_total_by_view_transport_method_total"
        '{method="POST",transport="http",view="api:ai_faq_search"}'
    )

    def count() -> float:
        for line in requests.get(lane + "/metrics", timeout=30).text.splitlines():
            if line.startswith(series + " "):
                return float(line.split()[-1])
        return 0.0

    before = count()
    for _ in range(3):
        assert _post(lane, '{"query": "Where is my parcel?"}').status_code == 200
    assert count() == before + 3


def test_a_rate_limited_question_gets_the_same_429_from_the_lane(django_db_blocker, articles):
    limits = {"RATE_LIMITS_ENABLED": "true", "RATE_LIMIT_PER_IP": "1/min"}
    with (
        daphne_server(django_db_blocker, **limits) as lane,
        daphne_server(django_db_blocker, EXPRESS_API="false", **limits) as django_only,
    ):
        body = '{"query": "I forgot my password"}'
        a_fresh_window(60, needed=20)  # the allowed and the refused requests in one minute's window
        assert _post(lane, body).status_code == _post(django_only, body).status_code == 200
        before = _last_history_id()
        first, second = _post(lane, body), _post(django_only, body)
        assert first.status_code == 429
        assert _comparable(first) == _comparable(second)
        assert first.headers["Retry-After"]
        assert _history(before) == []  # a refused question is not stored
