"""A request whose body is over DATA_UPLOAD_MAX_MEMORY_SIZE gets a 413 at once from a real Daphne
process, before the body is sent: the server never waits to read a 100 MB upload."""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def _send_head(base: str, path: str, headers: dict[str, str], body: bytes = b"") -> tuple[bytes, float]:
    """Send only the request head (and `body`), then read what comes back within 10 s."""
    address = urlsplit(base)
    started = time.monotonic()
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        head = f"POST {path} HTTP/1.1\r\nHost: {address.netloc}\r\n"
        head += "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        sock.sendall(head.encode() + b"\r\n" + body)
        received = b""
        try:
            while b"\r\n\r\n" not in received or len(received) < 200:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                received += chunk
        except TimeoutError:
            pass
    return received, time.monotonic() - started


def test_a_100_mb_content_length_on_the_api_is_a_json_413_without_sending_the_body(live_server_url):
    headers = {"Content-Type": "application/json", "Content-Length": str(100 * 1024 * 1024)}
    received, seconds = _send_head(live_server_url, "/api/ai_faq_search", headers, b'{"query": "')
    assert received.startswith(b"HTTP/1.1 413"), received[:300]
    assert b"application/json" in received and b"larger than 2621440 bytes (DATA_UPLOAD_MAX_MEMORY_SIZE)" in received
    assert seconds < 5


def test_a_100_mb_form_post_is_a_413_page(live_server_url):
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Content-Length": str(100 * 1024 * 1024)}
    received, _ = _send_head(live_server_url, "/feedback", headers, b"helpful=yes&comment=")
    assert received.startswith(b"HTTP/1.1 413"), received[:300]
    assert b"That request is too large" in received


def test_a_chunked_body_over_the_limit_is_a_413(live_server_url):
    chunk = b"x" * 65536
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(50))  # 3.2 MB, no end chunk
    headers = {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}
    received, seconds = _send_head(live_server_url, "/api/ai_faq_search", headers, body)
    assert received.startswith(b"HTTP/1.1 413"), received[:300]
    assert seconds < 5


def test_a_body_within_the_limit_is_still_served(live_server_url):
    body = b'{"query": "' + b"a" * 100 + b'"}'
    headers = {"Content-Type": "application/json", "Content-Length": str(len(body)), "Connection": "close"}
    received, _ = _send_head(live_server_url, "/api/ai_faq_search", headers, body)
    assert not received.startswith(b"HTTP/1.1 413"), received[:300]
    assert received.startswith(b"HTTP/1.1 200"), received[:300]
