"""Two Daphne processes sharing a channel layer in a real redis-server: a page served by one streams
its answer over a socket on the other; signing out on one closes that session's sockets on the
other; with Redis down the socket still answers and the page still renders the answer itself."""

from __future__ import annotations

import json
import time
import urllib.parse

import pytest
import requests
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from faq.consumers import SIGNED_OUT_MESSAGE
from faq.models import UserResponse
from tests.conftest import add_articles, daphne_pair, signed_in_session
from tests.openai_server import API_KEY

pytestmark = pytest.mark.django_db(transaction=True)

QUESTION = "how many days do I have to send something back?"
PASSWORD = "pw-5d8a1c2e9f"


@pytest.fixture(scope="module")
def servers(django_db_setup, django_db_blocker, redis_server, openai_server):
    env = {
        "REDIS_URL": redis_server.url,
        "OPENAI_API_KEY": API_KEY,
        "OPENAI_BASE_URL": openai_server.base_url,
        "ANSWER_MODE": "openai",
        "AI_MAX_RETRIES": "0",
    }
    with daphne_pair(django_db_blocker, **env) as pair:
        yield pair


@pytest.fixture
def help_centre(fresh_redis, openai_server):
    openai_server.reset()
    add_articles("return-window", "reset-password")


def _socket(base: str, session: requests.Session | None = None) -> ClientConnection:
    cookie = session.cookies.get("sessionid") if session else None
    headers = {"Cookie": f"sessionid={cookie}"} if cookie else None
    return connect(base.replace("http://", "ws://") + "/ws/answer/", origin=base, additional_headers=headers)


def _conversation(socket: ClientConnection, question: str = QUESTION) -> list[dict]:
    socket.send(json.dumps({"query": question, "category": None}))
    frames: list[dict] = []
    while not frames or frames[-1]["type"] not in ("done", "error"):
        frames.append(json.loads(socket.recv(timeout=30)))
    return frames


def _sign_out(base: str, session: requests.Session) -> None:
    response = session.post(
        base + "/accounts/logout/", data={"csrfmiddlewaretoken": session.cookies["csrftoken"]}, timeout=30
    )
    assert response.status_code == 200 and "sessionid" not in session.cookies


def test_a_page_from_one_process_streams_its_answer_over_a_socket_on_the_other(servers, help_centre):
    for page_from, socket_on in (servers, servers[::-1]):
        page = requests.get(page_from + "/", timeout=30).text
        assert 'data-streaming="true"' in page and 'data-ws-path="/ws/answer/"' in page
        with _socket(socket_on) as socket:
            frames = _conversation(socket)
        types = [frame["type"] for frame in frames]
        assert types[0] == "documents" and types[-1] == "done" and types.count("chunk") >= 3
        streamed = "".join(frame["text"] for frame in frames if frame["type"] == "chunk").strip()
        assert frames[-1]["answer_mode"] == "openai" and frames[-1]["text"] == streamed
    assert list(UserResponse.objects.values_list("answer_mode", flat=True)) == ["openai", "openai"]


def test_signing_out_on_one_process_closes_the_sessions_socket_on_the_other(servers, help_centre):
    first, second = servers
    ann = signed_in_session(first, "ann", PASSWORD)
    bob = signed_in_session(second, "bob", PASSWORD)
    with _socket(second, ann) as anns_socket, _socket(first, bob) as bobs_socket:
        assert _conversation(anns_socket)[-1]["type"] == "done"
        assert UserResponse.objects.get().user.username == "ann", "the socket on the other process knows ann"
        _sign_out(first, ann)
        assert json.loads(anns_socket.recv(timeout=10)) == {"type": "error", "message": SIGNED_OUT_MESSAGE}
        with pytest.raises(ConnectionClosed) as closed:
            anns_socket.recv(timeout=10)
        assert closed.value.rcvd.code == 4001
        # Someone else's session, on either process, is untouched.
        assert _conversation(bobs_socket)[-1]["type"] == "done"
    assert UserResponse.objects.filter(user__username="bob").count() == 1


def test_with_redis_down_sockets_still_answer_and_the_page_renders_the_answer(servers, help_centre, redis_server):
    first, second = servers
    redis_server.stop()
    try:
        with _socket(second) as socket:
            frames = _conversation(socket)
        assert frames[-1]["type"] == "done" and frames[-1]["answered"]
        page = requests.get(first + "/search?" + urllib.parse.urlencode({"q": QUESTION}), timeout=30)
        assert page.status_code == 200 and "According to the help centre" in page.text
    finally:
        redis_server.start()
    # Back by itself: a sign-out reaches sockets on the other process again.
    time.sleep(1)
    carol = signed_in_session(first, "carol", PASSWORD)
    with _socket(second, carol) as socket:
        assert _conversation(socket)[-1]["type"] == "done"
        _sign_out(first, carol)
        assert json.loads(socket.recv(timeout=10))["message"] == SIGNED_OUT_MESSAGE
    assert UserResponse.objects.count() == 3
