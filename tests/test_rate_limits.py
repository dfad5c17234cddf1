"""Rate limits on the AI endpoints: per IP for everyone, per user as well for signed-in callers and
token holders, never for staff; a refused request answers 429 and stores no history."""

from __future__ import annotations

import json
import time
from types import SimpleNamespace

import pytest
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from faq.models import UserResponse
from supportsite import ratelimit
from supportsite.asgi import application
from supportsite.models import ApiToken
from tests.conftest import add_articles

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/api/ai_faq_search"
QUESTION = {"query": "I forgot my password"}
# 10 s into a minute: 50 s to the end of the window.
MID_MINUTE = 1_700_000_050.0


@pytest.fixture(autouse=True)
def small_limits(settings):
    caches["default"].clear()
    settings.RATE_LIMITS_ENABLED = True
    settings.RATE_LIMIT_PER_IP = "3/min"
    settings.RATE_LIMIT_PER_USER = "2/min"
    settings.TRUSTED_PROXY_COUNT = 0
    yield
    caches["default"].clear()


@pytest.fixture
def frozen_clock(monkeypatch):
    """Every request lands in the same window, 50 s before its end, whatever the wall clock says."""
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: MID_MINUTE))


@pytest.fixture
def articles():
    add_articles("reset-password", "track-order")


def _ask(client: Client, body: dict = QUESTION, *, ip: str = "127.0.0.1", **headers):
    return client.post(URL, data=json.dumps(body), content_type="application/json", REMOTE_ADDR=ip, **headers)


@pytest.mark.usefixtures("frozen_clock")
def test_the_fourth_anonymous_question_from_one_address_gets_429_and_stores_nothing(articles):
    client = Client()
    assert [_ask(client).status_code for _ in range(3)] == [200, 200, 200]
    refused = _ask(client, headers={"X-Request-ID": "req-429"})
    assert refused.status_code == 429
    assert refused["Retry-After"] == "50"
    assert refused.json() == {
        "error": "too many requests: the limit is 3 per minute per IP address; retry in 50 s",
        "request_id": "req-429",
    }
    assert UserResponse.objects.count() == 3
    assert _ask(client, ip="192.0.2.7").status_code == 200
    assert UserResponse.objects.count() == 4


@pytest.mark.usefixtures("frozen_clock")
def test_a_signed_in_users_limit_follows_them_across_addresses(articles):
    ann = User.objects.create_user("ann")
    client = Client()
    client.force_login(ann)
    assert _ask(client, ip="192.0.2.1").status_code == 200
    assert _ask(client, ip="192.0.2.2").status_code == 200
    refused = _ask(client, ip="192.0.2.3")
    assert refused.status_code == 429
    assert "the limit is 2 per minute per user" in refused.json()["error"]
    assert UserResponse.objects.filter(user=ann).count() == 2
    # Someone else at that address is unaffected.
    assert _ask(Client(), ip="192.0.2.3").status_code == 200


@pytest.mark.usefixtures("frozen_clock")
def test_a_customer_token_is_limited_as_its_user_even_without_naming_one(articles):
    ann = User.objects.create_user("ann")
    _, plain = ApiToken.issue(user=ann, name="ann's script")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {plain}"}
    assert _ask(Client(), ip="192.0.2.1", **auth).status_code == 200
    assert _ask(Client(), {**QUESTION, "user_id": ann.pk}, ip="192.0.2.2", **auth).status_code == 200
    refused = _ask(Client(), ip="192.0.2.3", **auth)
    assert refused.status_code == 429 and "per user" in refused.json()["error"]


@pytest.mark.usefixtures("frozen_clock")
def test_staff_tokens_are_not_limited_when_acting_for_customers(articles):
    agent = User.objects.create_user("agent", is_staff=True)
    ann = User.objects.create_user("ann")
    _, plain = ApiToken.issue(user=agent, name="support widget")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {plain}"}
    statuses = [_ask(Client(), {**QUESTION, "user_id": ann.pk}, **auth).status_code for _ in range(6)]
    assert statuses == [200] * 6
    assert UserResponse.objects.filter(user=ann).count() == 6


@pytest.mark.usefixtures("frozen_clock")
def test_recommendations_have_their_own_budget_and_answer_429_too(articles):
    client = Client()
    for _ in range(3):
        assert _ask(client).status_code == 200
    post = lambda: client.post("/api/recommendations", data="{}", content_type="application/json")  # noqa: E731
    assert [post().status_code for _ in range(3)] == [200, 200, 200]
    refused = post()
    assert refused.status_code == 429 and refused["Retry-After"] == "50"


@pytest.mark.usefixtures("frozen_clock")
def test_the_search_page_answers_429_with_a_page_naming_the_limit_and_the_wait(articles):
    client = Client()
    for _ in range(3):
        assert client.get("/search", {"q": "forgot my password"}, REMOTE_ADDR="198.51.100.4").status_code == 200
    assert client.get("/search", {"q": ""}, REMOTE_ADDR="198.51.100.4").status_code == 200, "no question, no count"
    page = client.get("/search", {"q": "forgot my password"}, REMOTE_ADDR="198.51.100.4")
    assert page.status_code == 429
    assert page["Retry-After"] == "50" and "no-store" in page["Cache-Control"]
    assert page["Content-Type"].startswith("text/html")
    html = page.content.decode()
    assert "The limit is 3 per minute per IP address" in html and "try again in 50 seconds" in html
    assert 'href="/accounts/login/"' in html, "the page is the site's own (base.html)"
    assert UserResponse.objects.count() == 3


@pytest.mark.usefixtures("frozen_clock")
def test_suggestions_are_counted_apart_from_questions_and_refused_as_json(articles):
    client = Client()
    for _ in range(3):
        assert _ask(client).status_code == 200
    suggest = lambda: client.get("/search/suggest", {"q": "password"})  # noqa: E731
    assert [suggest().status_code for _ in range(3)] == [200, 200, 200]
    refused = suggest()
    assert refused.status_code == 429 and refused["Retry-After"] == "50"
    assert "no-store" in refused["Cache-Control"], "a browser must not keep showing the refusal"
    assert refused.json()["error"].startswith("too many requests: the limit is 3 per minute per IP address")


def test_the_limit_resets_in_the_next_window(articles, settings):
    settings.RATE_LIMITS_ENABLED = False
    _ask(Client())  # loads the embedding model, so the timed calls below are quick
    settings.RATE_LIMITS_ENABLED = True
    settings.RATE_LIMIT_PER_IP = "2/sec"
    time.sleep(1 - time.time() % 1 + 0.01)  # the start of a second
    client = Client()
    assert [_ask(client).status_code for _ in range(3)] == [200, 200, 429]
    time.sleep(1 - time.time() % 1 + 0.01)
    assert _ask(client).status_code == 200


def test_limits_can_be_switched_off(articles, settings, frozen_clock):
    settings.RATE_LIMITS_ENABLED = False
    assert {_ask(Client()).status_code for _ in range(5)} == {200}


@pytest.mark.asyncio
@pytest.mark.usefixtures("async_orm", "frozen_clock")
async def test_the_websocket_answers_an_error_frame_once_over_the_limit_and_stores_nothing(settings):
    from asgiref.sync import sync_to_async

    await sync_to_async(add_articles)("reset-password")
    settings.RATE_LIMIT_PER_IP = "1/min"
    communicator = WebsocketCommunicator(
        application, "/ws/answer/", headers=[(b"origin", b"http://127.0.0.1:8000"), (b"host", b"127.0.0.1:8000")]
    )
    connected, _ = await communicator.connect(timeout=10)
    assert connected
    frames = []
    for _ in range(2):
        await communicator.send_to(text_data=json.dumps({"query": "I forgot my password", "category": None}))
        while True:
            frames.append(await communicator.receive_json_from(timeout=20))
            if frames[-1]["type"] in ("done", "error"):
                break
    await communicator.disconnect()
    assert frames[-1] == {
        "type": "error",
        "message": "too many requests: the limit is 1 per minute per IP address; retry in 50 s",
    }
    assert [f["type"] for f in frames].count("done") == 1
    assert await UserResponse.objects.acount() == 1


@pytest.mark.parametrize("value", ["60", "60/day", "0/min", "ten/min", "60/min/extra", "-1/sec"])
def test_bad_rate_settings_are_refused_with_a_message_naming_the_variable(monkeypatch, value):
    monkeypatch.setenv("RATE_LIMIT_PER_IP", value)
    with pytest.raises(ImproperlyConfigured, match=r"RATE_LIMIT_PER_IP must look like 30/min"):
        ratelimit.env_rate("RATE_LIMIT_PER_IP", "60/min")


def test_good_rate_settings_are_read_as_counts_per_window(monkeypatch):
    monkeypatch.setenv("RATE_LIMIT_PER_USER", " 500 / hour ")
    assert ratelimit.env_rate("RATE_LIMIT_PER_USER", "30/min") == "500 / hour"
    assert ratelimit.parse_rate("500 / hour") == ratelimit.Rate(500, 3600, "hour")
    monkeypatch.delenv("RATE_LIMIT_PER_USER")
    assert ratelimit.parse_rate(ratelimit.env_rate("RATE_LIMIT_PER_USER", "30/min")) == ratelimit.Rate(30, 60, "minute")


def test_x_forwarded_for_counts_only_behind_the_configured_number_of_proxies():
    forwarded = "203.0.113.9, 198.51.100.1, 10.0.0.2"
    assert ratelimit.client_ip("10.0.0.1", forwarded, trusted_proxies=0) == "10.0.0.1", "clients can forge it"
    assert ratelimit.client_ip("10.0.0.1", forwarded, trusted_proxies=1) == "10.0.0.2"
    assert ratelimit.client_ip("10.0.0.1", forwarded, trusted_proxies=2) == "198.51.100.1"
    assert ratelimit.client_ip("10.0.0.1", "203.0.113.9", trusted_proxies=2) == "10.0.0.1", "too few hops"
    assert ratelimit.client_ip("10.0.0.1", "junk", trusted_proxies=1) == "10.0.0.1"


@pytest.mark.usefixtures("frozen_clock")
def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_budget(articles, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = "10.0.0.1"
    for _ in range(3):
        assert _ask(Client(), ip=proxy, HTTP_X_FORWARDED_FOR="203.0.113.9").status_code == 200
    assert _ask(Client(), ip=proxy, HTTP_X_FORWARDED_FOR="203.0.113.9").status_code == 429
    assert _ask(Client(), ip=proxy, HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.10").status_code == 200
