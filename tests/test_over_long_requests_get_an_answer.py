"""A request line or headers over the server's limit get an HTTP answer (414 or 431 with a short
page, JSON under /api/), never a dropped connection: for `manage.py serve` (what `make run` and
the Docker image run) with one process and with --workers. And each server process starts its
question model before the first question."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import time

import psutil
import pytest

from tests.conftest import app_process, server_env

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module", params=[1, 2], ids=["one-process", "two-workers"])
def served(request, django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        env = server_env()
    workers = request.param

    def argv(port: int) -> list[str]:
        return [sys.executable, "manage.py", "serve", "--no-migrate", "--workers", str(workers), "--port", str(port)]

    with app_process(argv, env) as (url, process):
        yield int(url.rsplit(":", 1)[1]), process, workers


def _model_processes(server) -> list[list[str]]:
    """The command lines of the question model processes anywhere under the server's process."""
    found = []
    for child in psutil.Process(server.pid).children(recursive=True):
        with contextlib.suppress(psutil.Error):  # one that ended meanwhile
            if "faq.model_process" in " ".join(command := child.cmdline()):
                found.append(command)
    return found


def test_each_server_process_starts_its_question_model_before_the_first_question(served):
    """No question has been asked (the other tests here never embed one): the model processes are
    there, one per server process, so the first customer does not wait for a model to load. Their
    threads share half the cores: cores / (2 x workers) each, at least 1 and at most 4; they run
    the questions' kernel (faq/question_kernel.py where the CPU has exact 8-bit products)."""
    from faq.embeddings import questions_kernel

    _, process, workers = served
    deadline = time.monotonic() + 60
    while len(found := _model_processes(process)) < workers and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(found) == workers
    cores = os.cpu_count() or 1
    expected = min(4, max(1, cores // (2 * workers)))
    assert [int(command[-1]) for command in found] == [expected] * workers  # `-m faq.model_process KERNEL THREADS`
    assert [command[-2] for command in found] == [questions_kernel("float")] * workers


def _exchange(served, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes and read the whole answer, as a client that sends all before reading."""
    port = served[0]
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    assert received, "the server closed the connection without answering"
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in header_lines)}
    return int(status_line.split()[1]), headers, body


def test_a_search_link_of_20000_characters_gets_414_and_a_page(served):
    status, headers, body = _exchange(
        served, b"GET /search?q=" + b"a" * 20_000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    )
    assert status == 414
    assert headers["content-type"].startswith("text/html")
    assert int(headers["content-length"]) == len(body)
    assert b"That address is too long" in body and b"16,384 bytes" in body


def test_an_api_call_with_a_huge_header_gets_431_in_json(served):
    payload = json.dumps({"query": "I forgot my password"}).encode()
    request = (
        b"POST /api/ai_faq_search HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"X-Padding: " + b"x" * 20_000 + b"\r\nContent-Length: %d\r\n\r\n" % len(payload) + payload
    )
    status, headers, body = _exchange(served, request)
    assert status == 431
    assert headers["content-type"] == "application/json"
    answer = json.loads(body)
    assert "header line is over 16,384 bytes" in answer["error"]
    assert answer["request_id"] == headers["x-request-id"]


def test_many_headers_that_add_up_past_the_limit_get_431(served):
    padding = b"".join(b"X-Padding-%d: %s\r\n" % (n, b"y" * 2000) for n in range(12))
    status, _, body = _exchange(served, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n" + padding + b"\r\n")
    assert status == 431
    assert b"headers are over 16,384 bytes in all" in body


def test_an_ordinary_request_on_the_same_server_is_served_as_before(served):
    status, _, body = _exchange(served, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    assert status == 200 and b"ok" in body
