"""Shared fixtures: the OpenAI-compatible test server, a Daphne server on the test database,
and Playwright driving Debian's chromium."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import pytest
import pytest_asyncio
from asgiref.sync import sync_to_async
from django.db import connections

from supportsite.env import database_url
from tests.openai_server import API_KEY, OpenAICompatibleServer

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # This machine has no network: without these, chromium keeps dialling out and stalls.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, *, process: subprocess.Popen | None = None, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            log = getattr(process, "log_path", None)
            out = process.stdout.read() if process.stdout else (log.read_text() if log else "")
            raise RuntimeError(f"server exited with {process.returncode} before answering {url}:\n{out}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


def a_fresh_window(seconds: int, *, needed: float) -> None:
    """Rate limits count in fixed windows aligned to the epoch (supportsite/ratelimit.py): when
    fewer than `needed` seconds are left in the current `seconds`-long window, wait for the next one,
    so that the requests a test counts all land in one window."""
    left = seconds - time.time() % seconds
    if left < needed:
        time.sleep(left + 0.5)


def server_env(**extra: str) -> dict[str, str]:
    """Environment for a child server process on the test database."""
    from django.db import connection

    env = {
        **os.environ,
        "DATABASE_URL": database_url(connection.settings_dict),
        "SECRET_KEY": "insecure-test-only-key",
        "DEBUG": "false",
        "DB_POOL_MIN": "1",
        "PYTHONUNBUFFERED": "1",
        # Every test server's clients share 127.0.0.1; tests/test_rate_limits.py covers the limits.
        "RATE_LIMITS_ENABLED": "false",
    }
    env.update(extra)
    return env


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate-limit counters (and any other cached value) never leak from one test into the next."""
    from django.core.cache import caches

    from faq import result_cache

    caches["default"].clear()
    result_cache.clear()


@pytest.fixture(scope="session")
def openai_server() -> Iterator[OpenAICompatibleServer]:
    server = OpenAICompatibleServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def openai_settings(openai_server: OpenAICompatibleServer, settings) -> OpenAICompatibleServer:
    """Point the app's OpenAI settings at the test server, reset to answer normally."""
    openai_server.reset()
    settings.OPENAI_API_KEY = API_KEY
    settings.OPENAI_BASE_URL = openai_server.base_url
    return openai_server


@contextmanager
def app_process(
    argv: Callable[[int], list[str]], env: dict[str, str], *, stop_seconds: float = 10
) -> Iterator[tuple[str, subprocess.Popen]]:
    """The app served by a real process started as `argv(port)` on a free port, with this
    environment; yields its base URL once /healthz answers, and the process (its log at `log_path`).

    Its output goes to a file, not a pipe: nobody reads a pipe while tests run, and a full pipe
    (about 64 KB of request logs) would freeze the server mid-suite."""
    port = free_port()
    log = tempfile.NamedTemporaryFile(prefix="app-", suffix=".log", delete=False)  # noqa: SIM115
    process = subprocess.Popen(argv(port), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
    process.log_path = Path(log.name)  # type: ignore[attr-defined]
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(url + "/healthz", process=process)
        yield url, process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(stop_seconds)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()
        Path(log.name).unlink(missing_ok=True)


def daphne_process(env: dict[str, str]):
    """A real Daphne process with this environment; yields its base URL and the process."""
    asgi = "supportsite.asgi:application"
    return app_process(lambda port: [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), asgi], env)


def run_benchmark(script: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run bench/`script` with these arguments and capture its output. No DATA_DIR or DATABASE_URL
    override: the benchmark joins the suite's database server and makes its own scratch database."""
    return subprocess.run(
        [sys.executable, f"bench/{script}", *args],
        cwd=ROOT,
        env={**os.environ, "SECRET_KEY": "x"},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@contextmanager
def daphne_server(django_db_blocker, **env: str) -> Iterator[str]:
    """Daphne serving the app on the test database; yields its base URL."""
    with django_db_blocker.unblock():
        environ = server_env(**env)
    with daphne_process(environ) as (url, _):
        yield url


@contextmanager
def generating_server(django_db_blocker, openai_server: OpenAICompatibleServer, **env: str) -> Iterator[str]:
    """Daphne on the test database, writing answers with the tests' OpenAI-compatible server."""
    with daphne_server(
        django_db_blocker,
        OPENAI_API_KEY=API_KEY,
        OPENAI_BASE_URL=openai_server.base_url,
        ANSWER_MODE="openai",
        AI_MAX_RETRIES="0",
        **env,
    ) as url:
        yield url


@pytest.fixture(scope="module")
def admin_server_url(django_db_setup, django_db_blocker) -> Iterator[str]:
    """A Daphne of the module's own for admin pages: admin caches content-type ids in its process,
    and the ids that earlier tests saw are gone once their database is flushed."""
    with daphne_server(django_db_blocker) as url:
        yield url


EDITOR = ("editor", "pw-123456789")


def sign_in_to_admin(page, url: str) -> None:
    """Sign in as the EDITOR superuser (created by the test) on the admin's form that `url` redirects
    to; returns once the page it redirects back to has arrived."""
    page.goto(url)
    page.get_by_label("Username").fill(EDITOR[0])
    page.get_by_label("Password").fill(EDITOR[1])
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()


@pytest.fixture(scope="session")
def live_server_url(django_db_setup, django_db_blocker) -> Iterator[str]:
    """Daphne on the test database. Tests that use it write their data with `transactional_db`."""
    with daphne_server(django_db_blocker) as url:
        yield url


@pytest_asyncio.fixture
async def async_orm():
    """An async test's own ORM calls run on asgiref's single sync thread; return that thread's
    pooled connection afterwards, or dropping the test database finds it still in use."""
    yield
    await sync_to_async(connections.close_all)()


@pytest.fixture
def orm_beside_playwright(monkeypatch):
    """Playwright's sync API keeps an event loop running in the test thread, and Django then
    refuses the test's own ORM calls. Function-scoped: servers started by wider fixtures keep the check."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def missing_debian_package(package: str, tests: str) -> NoReturn:
    """Skip, saying why, when a Debian package the tests drive is absent; under CI (which
    installs it, see .ci/run) that is a failure instead."""
    reason = f"Debian's {package} is not installed (apt-get install {package}): {tests} cannot run"
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(reason + " and CI=true requires them")
    pytest.skip(reason)


AXE_VERSION = "4"  # axe-core's major version; npm installs its newest 4.x at test time, never committed


@pytest.fixture(scope="session")
def axe_script() -> str:
    """Path of axe.min.js, installed from npm into a cache outside the repository on first use."""
    cache = Path(os.environ.get("AXE_CACHE_DIR", Path.home() / ".cache" / "supportsite-axe"))
    script = cache / "node_modules" / "axe-core" / "axe.min.js"
    if script.exists():
        return str(script)
    npm = shutil.which("npm")
    problem = "npm is not installed (apt-get install npm)" if npm is None else ""
    if npm is not None:
        done = subprocess.run(
            [npm, "install", "--prefix", str(cache), f"axe-core@{AXE_VERSION}", "--no-audit", "--no-fund"],
            capture_output=True,
            text=True,
            timeout=300,
        )
        problem = "" if script.exists() else f"npm install axe-core@{AXE_VERSION} failed: {done.stderr[-500:]}"
    if problem:
        reason = f"{problem}: the accessibility checks cannot run"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(reason + " and CI=true requires them")
        pytest.skip(reason)
    return str(script)


def chromium_path() -> str | None:
    return shutil.which("chromium") or (shutil.which("chromium-browser"))


@pytest.fixture(scope="module")
def browser():
    path = chromium_path()
    if path is None:
        missing_debian_package("chromium", "browser tests")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    yield page
    context.close()


# A few articles that several test files search; each file adds its own special cases.
CATEGORIES = {"accounts": "Accounts and sign-in", "orders": "Orders and shipping", "returns": "Returns and refunds"}
ARTICLES = {
    "reset-password": (
        "accounts",
        "How do I reset my password?",
        "Choose **Forgot password?** on the sign-in page and follow the link we email you.",
    ),
    "track-order": (
        "orders",
        "How can I track my order?",
        "Open **Your orders** and select **Track parcel** to see where your delivery is.",
    ),
    "return-window": (
        "returns",
        "How long do I have to return an item?",
        "You have **30 days** from delivery to send most items back for a full refund.",
    ),
    "refund-timing": (
        "returns",
        "When will I get my refund?",
        "Refunds reach your account within 5 working days of the return arriving at our warehouse.",
    ),
}


def add_articles(*slugs: str):
    """Create the named ARTICLES (and their categories); returns {slug: FaqDocument}."""
    from faq.models import Category, FaqDocument

    created = {}
    for order, slug in enumerate(slugs):
        category_slug, question, answer = ARTICLES[slug]
        category, _ = Category.objects.get_or_create(
            slug=category_slug, defaults={"name": CATEGORIES[category_slug], "order": order}
        )
        created[slug] = FaqDocument.objects.create(slug=slug, question=question, answer=answer, category=category)
    return created


def category(slug: str):
    from faq.models import Category

    return Category.objects.get_or_create(slug=slug, defaults={"name": CATEGORIES[slug]})[0]


# --- Several server processes: a real redis-server, and Daphne processes sharing it ------------------


def redis_server_path() -> str | None:
    return shutil.which("redis-server")


class RedisServer:
    """Debian's redis-server on a free 127.0.0.1 port, keeping nothing on disk; a test may stop it
    (an outage) and start it again on the same port."""

    def __init__(self, executable: str, directory: Path) -> None:
        self.executable, self.directory = executable, directory
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self):
        import redis

        return redis.Redis.from_url(self.url, socket_timeout=5)

    def start(self) -> None:
        log = (self.directory / "redis.log").open("a")
        # Nothing on disk: no snapshots (--save ""), no append-only file.
        options = ["--save", "", "--appendonly", "no", "--dir", str(self.directory)]
        self.process = subprocess.Popen(
            [self.executable, "--bind", "127.0.0.1", "--port", str(self.port), *options],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + 15
        while True:
            try:
                if self.client().ping():
                    return
            except OSError:
                pass
            except Exception as exc:  # redis.ConnectionError until it listens
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"redis-server did not start: {exc}\n{(self.directory / 'redis.log').read_text()}"
                    ) from exc
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory) -> Iterator[RedisServer]:
    """A real redis-server for this module's tests (flushed before each by `fresh_redis`)."""
    executable = redis_server_path()
    if executable is None:
        missing_debian_package("redis-server", "scale-out tests")
    server = RedisServer(executable, tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fresh_redis(redis_server: RedisServer) -> RedisServer:
    """The module's redis-server, running and empty (a test before may have stopped it)."""
    if redis_server.process is None:
        redis_server.start()
    redis_server.client().flushall()
    return redis_server


@contextmanager
def daphne_pair(django_db_blocker, **env: str) -> Iterator[tuple[str, str]]:
    """Two Daphne processes on the test database with the same environment (say, one REDIS_URL)."""
    with daphne_server(django_db_blocker, **env) as first, daphne_server(django_db_blocker, **env) as second:
        yield first, second


def signed_in_session(base: str, username: str, password: str):
    """A new user, signed in through the real sign-in form of the server at `base`: a requests
    session carrying its cookies (and CSRF token)."""
    import re

    import requests
    from django.contrib.auth.models import User

    User.objects.create_user(username, password=password)
    session = requests.Session()
    form = session.get(base + "/accounts/login/", timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)[1]
    signed_in = session.post(
        base + "/accounts/login/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": token},
        timeout=30,
    )
    assert signed_in.status_code == 200 and signed_in.url.endswith("/dashboard/"), signed_in.text[:500]
    return session
