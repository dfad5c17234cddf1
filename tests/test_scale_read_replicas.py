"""DATABASE_REPLICA_URLS: search, recommendations and pages read a replica; every write, sign-ins
and a user's own history use the primary.

The stand-in replica is a separate real database on the same PostgreSQL, migrated and loaded with
an article the primary does not have, and never sent the primary's writes: what a page shows
proves where it read from. (In production a streaming standby holds the same rows, a moment late.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from contextlib import contextmanager
from types import SimpleNamespace

import psycopg
import psycopg.conninfo
import pytest
import requests
from django.contrib.auth.models import AnonymousUser, User
from django.db import connection
from websockets.sync.client import connect

from faq.models import Category, FaqDocument, UserResponse
from supportsite import db_router
from supportsite.env import database_url
from supportsite.models import ApiToken
from tests.conftest import ROOT, add_articles, daphne_server, signed_in_session

pytestmark = pytest.mark.django_db(transaction=True)

REPLICA_ONLY = {
    "id": "replica-password-help",
    "question": "How do I reset my password?",
    "answer": "Replica copy: choose **Forgot password?** on the sign-in page.",
    "category": "Accounts and sign-in",
}
QUESTION = "I forgot my password"
PASSWORD = "pw-71c3e0b2aa"


def _manage(*args: str, database: str) -> None:
    env = {**os.environ, "DATABASE_URL": database, "SECRET_KEY": "x", "LOG_LEVEL": "WARNING"}
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def replica_url(django_db_setup, django_db_blocker, tmp_path_factory):
    """A second real database: migrated, holding only REPLICA_ONLY; dropped afterwards."""
    with django_db_blocker.unblock():
        entry = dict(connection.settings_dict)
    name = f"{entry['NAME']}_replica"
    admin = database_url({**entry, "NAME": "postgres"})
    with psycopg.connect(admin, autocommit=True) as server:
        server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        server.execute(f'CREATE DATABASE "{name}"')
    url = database_url({**entry, "NAME": name})
    articles = tmp_path_factory.mktemp("replica") / "articles.jsonl"
    articles.write_text(json.dumps(REPLICA_ONLY) + "\n")
    try:
        _manage("migrate", "--verbosity", "0", database=url)
        _manage("import_faqs", str(articles), database=url)
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as server:
            server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def site(django_db_blocker, replica_url):
    with daphne_server(django_db_blocker, DATABASE_REPLICA_URLS=replica_url) as url:
        yield url


@pytest.fixture
def primary_articles():
    # The primary has its own password article; the replica only REPLICA_ONLY.
    add_articles("reset-password", "track-order")


def _replica_count(url: str, sql: str) -> int:
    with psycopg.connect(url) as replica:
        return replica.execute(sql).fetchone()[0]


def test_searches_read_the_replica_and_store_history_on_the_primary(site, replica_url, primary_articles):
    api = requests.post(site + "/api/ai_faq_search", json={"query": QUESTION}, timeout=30).json()
    assert api["documents"][0]["slug"] == "replica-password-help"
    assert api["response"].startswith("Replica copy")
    page = requests.get(site + "/search", params={"q": QUESTION}, timeout=30)
    assert page.status_code == 200 and "Replica copy" in page.text
    assert "/articles/replica-password-help/" in page.text
    home = requests.get(site + "/", timeout=30).text
    assert "Accounts and sign-in" in home and "Orders and shipping" not in home, "the home page lists the replica's"
    assert UserResponse.objects.count() == 2, "both questions were written to the primary"
    assert _replica_count(replica_url, "SELECT count(*) FROM user_responses") == 0


def test_a_users_own_history_is_read_from_the_primary_right_after_asking(site, replica_url, primary_articles):
    # The user exists only on the primary: signing in reads it there.
    session = signed_in_session(site, "ann", PASSWORD)
    assert session.get(site + "/search", params={"q": QUESTION}, timeout=30).status_code == 200
    dashboard = session.get(site + "/dashboard/", timeout=30).text
    # The replica has no history at all: the dashboard can only have read this from the primary.
    assert QUESTION in dashboard
    token = session.cookies["csrftoken"]
    picks = session.post(
        site + "/api/recommendations", json={"limit": 3}, headers={"X-CSRFToken": token}, timeout=30
    ).json()["recommendations"]
    assert picks[0]["slug"] == "replica-password-help", "articles come from the replica"
    assert picks[0]["reason"] == f"Because you asked “{QUESTION}”", "history comes from the primary"
    assert _replica_count(replica_url, "SELECT count(*) FROM user_responses") == 0
    assert _replica_count(replica_url, "SELECT count(*) FROM auth_user") == 0


def test_api_calls_with_a_staff_token_read_the_replica(site, replica_url, primary_articles):
    # The token and its owner exist only on the primary; the article the answer cites only on the
    # replica. Stamping the token's last use must not pin the rest of the call to the primary.
    staff = User.objects.create_user("desk", password=PASSWORD, is_staff=True)
    ann = User.objects.create_user("ann-token", password=PASSWORD)
    _, plain = ApiToken.issue(user=staff, name="support widget")
    headers = {"Authorization": f"Bearer {plain}"}
    for body in ({"query": QUESTION}, {"query": QUESTION, "user_id": ann.pk}):
        api = requests.post(site + "/api/ai_faq_search", json=body, headers=headers, timeout=30)
        assert api.status_code == 200, api.text
        assert api.json()["documents"][0]["slug"] == "replica-password-help", body
    picks = requests.post(
        site + "/api/recommendations", json={"user_id": ann.pk, "limit": 3}, headers=headers, timeout=30
    ).json()["recommendations"]
    assert picks[0]["slug"] == "replica-password-help", "recommended articles come from the replica"
    assert ApiToken.objects.get().last_used_at is not None, "the token's use is still stamped, on the primary"
    assert _replica_count(replica_url, "SELECT count(*) FROM supportsite_apitoken") == 0


def test_readyz_checks_the_replica_too(site):
    body = requests.get(site + "/readyz", timeout=30).json()
    assert body["status"] == "ready" and body["checks"]["replica:replica1"] == "ok"


@contextmanager
def replica_down(replica_url: str):
    """The replica refuses connections and drops the ones it had (as a stopped standby would)."""
    name = psycopg.conninfo.conninfo_to_dict(replica_url)["dbname"]
    admin = psycopg.conninfo.make_conninfo(replica_url, dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as server:
        server.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
        server.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [name])
    try:
        yield
    finally:
        with psycopg.connect(admin, autocommit=True) as server:
            server.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')


def _search_slug(base: str) -> str:
    response = requests.post(base + "/api/ai_faq_search", json={"query": QUESTION}, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()["documents"][0]["slug"]


def _ws_slug(base: str) -> str:
    with connect(base.replace("http://", "ws://") + "/ws/answer/", origin=base) as socket:
        socket.send(json.dumps({"query": QUESTION, "category": None}))
        while True:
            frame = json.loads(socket.recv(timeout=60))
            assert frame["type"] != "error", frame
            if frame["type"] == "documents":
                return frame["documents"][0]["url"].rstrip("/").rsplit("/", 1)[1]


def _replica_down_gauge(base: str) -> str:
    text = requests.get(base + "/metrics", timeout=30).text
    return next(
        (
            line.rsplit(" ", 1)[1]
            for line in text.splitlines()
            if line.startswith('database_replica_down{database="replica1"}')
        ),
        "absent",
    )


def _back_on_the_replica(base: str) -> None:
    deadline = time.monotonic() + 30
    while _search_slug(base) != "replica-password-help":
        assert time.monotonic() < deadline, "reads never went back to the replica"
        time.sleep(0.5)
    assert _replica_down_gauge(base) == "0.0"
    assert requests.get(base + "/readyz", timeout=30).json()["checks"]["replica:replica1"] == "ok"


def test_a_replica_going_down_loses_no_request_and_is_used_again_once_back(
    django_db_blocker, replica_url, primary_articles
):
    with daphne_server(django_db_blocker, DATABASE_REPLICA_URLS=replica_url, REPLICA_RETRY_SECONDS="1") as base:
        assert _search_slug(base) == "replica-password-help", "reads start on the replica"
        assert _ws_slug(base) == "replica-password-help"

        with replica_down(replica_url):
            # A websocket question is the first to find it down: answered again from the primary.
            assert _ws_slug(base) == "reset-password"
            ready = requests.get(base + "/readyz", timeout=30)
            assert ready.status_code == 200, ready.text
            assert ready.json()["checks"]["replica:replica1"].startswith("degraded"), ready.text
            assert _replica_down_gauge(base) == "1.0"
            time.sleep(2)  # past REPLICA_RETRY_SECONDS: the probe fails, and reads stay on the primary
            assert {_search_slug(base) for _ in range(3)} == {"reset-password"}
        _back_on_the_replica(base)

        with replica_down(replica_url):
            # An API call is the first to find it down: run again on the primary, not a 503.
            assert _search_slug(base) == "reset-password"
            page = requests.get(base + "/search", params={"q": QUESTION}, timeout=60)
            assert page.status_code == 200 and "/articles/reset-password/" in page.text
        _back_on_the_replica(base)
    assert UserResponse.objects.count() >= 10, "every question was stored on the primary"


# The router's rules, one by one (no replica database needed to decide where a read goes).


@pytest.fixture
def one_replica(settings):
    settings.DATABASE_REPLICAS = ["replica1"]


@pytest.mark.usefixtures("one_replica")
def test_outside_a_request_everything_reads_the_primary():
    assert db_router.read_alias(FaqDocument) == "default", "management commands act on fresh rows"


@pytest.mark.usefixtures("one_replica")
def test_in_a_replica_scope_the_catalogue_is_read_from_the_replica_until_the_scope_writes():
    router = db_router.PrimaryReplicaRouter()
    with db_router.replica_reads():
        assert router.db_for_read(FaqDocument) == "replica1"
        assert router.db_for_read(Category) == "replica1"
        assert router.db_for_read(User) == "default", "identity is always fresh"
        with db_router.primary():
            assert router.db_for_read(UserResponse) == "default", "the caller's own rows"
        assert router.db_for_write(UserResponse) == "default"
        assert router.db_for_read(FaqDocument) == "default", "after a write, the rest reads what it wrote"
    assert router.db_for_read(FaqDocument) == "default"


@pytest.mark.usefixtures("one_replica")
def test_only_catalogue_requests_open_a_replica_scope():
    seen = []

    def read(request):
        seen.append(db_router.read_alias(FaqDocument))

    # The two API views are marked @reads_catalogue in their apps (the tests above read the replica
    # through them); a POST whose view is not marked reads the primary.
    marked = db_router.reads_catalogue(read)

    def view(request):
        return (marked if request.path.startswith("/api/") else read)(request)

    middleware = db_router.ReplicaReadsMiddleware(view)
    for method, path in [
        ("GET", "/search"),
        ("HEAD", "/articles/x/"),
        ("POST", "/api/ai_faq_search"),
        ("POST", "/api/recommendations"),
        ("POST", "/feedback"),
        ("POST", "/accounts/login/"),
        ("GET", "/admin/faq/faqdocument/"),
    ]:
        middleware(SimpleNamespace(method=method, path=path, user=AnonymousUser()))
    assert seen == ["replica1"] * 4 + ["default"] * 3


def test_without_replicas_every_read_is_on_the_primary(settings):
    settings.DATABASE_REPLICAS = []
    with db_router.replica_reads():
        assert db_router.read_alias(FaqDocument) == "default"
