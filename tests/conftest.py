"""Shared fixtures: the OpenAI-compatible test server, a Daphne server on the test database,
and Playwright driving Debian's chromium."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
import pytest_asyncio
from asgiref.sync import sync_to_async
from django.db import connections

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
            out = process.stdout.read() if process.stdout else ""
            raise RuntimeError(f"server exited with {process.returncode} before answering {url}:\n{out}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


def database_url(settings_dict: dict) -> str:
    """A postgresql:// URL for a Django DATABASES entry (TCP or unix socket)."""
    user = quote(settings_dict["USER"] or "", safe="")
    password = quote(settings_dict["PASSWORD"] or "", safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host, port, name = settings_dict["HOST"] or "", settings_dict["PORT"] or "", settings_dict["NAME"]
    if host.startswith("/"):
        return f"postgresql://{auth}/{quote(name)}?host={quote(host)}" + (f"&port={port}" if port else "")
    return f"postgresql://{auth}{host}{':' + port if port else ''}/{quote(name)}"


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
    }
    env.update(extra)
    return env


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
def daphne_server(django_db_blocker, **env: str) -> Iterator[str]:
    """A real Daphne process serving the app on the test database; yields its base URL."""
    port = free_port()
    with django_db_blocker.unblock():
        environ = server_env(**env)
    process = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "supportsite.asgi:application"],
        cwd=ROOT,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(url + "/healthz", process=process)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


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


def chromium_path() -> str | None:
    return shutil.which("chromium") or (shutil.which("chromium-browser"))


@pytest.fixture(scope="module")
def browser():
    path = chromium_path()
    if path is None:
        reason = "Debian's chromium is not installed (apt-get install chromium): browser tests cannot run"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(reason + " and CI=true requires them")
        pytest.skip(reason)
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
