"""A small OpenAI-compatible HTTP server for tests: /v1/embeddings and /v1/chat/completions.

It is a real server on 127.0.0.1 spoken to by the real `openai` client, with deterministic
outputs: embeddings are hashed bags of words (texts sharing words are close), and chat
answers quote the grounding they were given. `mode` makes it fail the ways providers do.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

API_KEY = "sk-test-supportsite"
WORD = re.compile(r"[a-z0-9]+")


def hashed_embedding(text: str, dimensions: int) -> list[float]:
    """Deterministic unit vector: each word adds +/-1 to a bucket chosen by its hash."""
    vector = [0.0] * dimensions
    for word in WORD.findall(text.lower()):
        digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
        bucket = int.from_bytes(digest[:4], "little") % dimensions
        vector[bucket] += 1.0 if digest[4] & 1 else -1.0
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    if norm == 1.0 and not any(vector):
        vector[0] = 1.0
    return [v / norm for v in vector]


class OpenAICompatibleServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        # "ok", "error" (HTTP 500), "rate_limit" (HTTP 429), "stall" (sleeps `stall_seconds`).
        self.mode = "ok"
        self.stall_seconds = 30.0
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def reset(self) -> None:
        with self.lock:
            self.mode = "ok"
            self.requests.clear()


class _Handler(BaseHTTPRequestHandler):
    server: OpenAICompatibleServer
    protocol_version = "HTTP/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        return

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            return self._json(400, {"error": {"message": "invalid JSON", "type": "invalid_request_error"}})
        with self.server.lock:
            self.server.requests.append({"path": self.path, "body": body})
            mode = self.server.mode
        if self.headers.get("Authorization") != f"Bearer {API_KEY}":
            return self._json(401, {"error": {"message": "Incorrect API key provided", "type": "invalid_api_key"}})
        if mode == "stall":
            time.sleep(self.server.stall_seconds)
        if mode == "error":
            return self._json(500, {"error": {"message": "The server had an error", "type": "server_error"}})
        if mode == "rate_limit":
            return self._json(429, {"error": {"message": "Rate limit reached", "type": "rate_limit_error"}})
        if self.path == "/v1/embeddings":
            return self._embeddings(body)
        if self.path == "/v1/chat/completions":
            return self._chat(body)
        return self._json(404, {"error": {"message": f"unknown path {self.path}", "type": "invalid_request_error"}})

    def _embeddings(self, body: dict[str, Any]) -> None:
        inputs = body.get("input")
        texts = [inputs] if isinstance(inputs, str) else list(inputs or [])
        dimensions = int(body.get("dimensions") or 1536)
        data = [
            {"object": "embedding", "index": i, "embedding": hashed_embedding(text, dimensions)}
            for i, text in enumerate(texts)
        ]
        tokens = sum(len(WORD.findall(text.lower())) for text in texts)
        self._json(
            200,
            {
                "object": "list",
                "data": data,
                "model": body.get("model", "test-embedding"),
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            },
        )

    def _chat(self, body: dict[str, Any]) -> None:
        messages = body.get("messages") or []
        grounding = " ".join(str(m.get("content", "")) for m in messages if m.get("role") != "system")
        answer = "According to the help centre: " + " ".join(grounding.split()[:40])
        created = int(time.time())
        if not body.get("stream"):
            return self._json(
                200,
                {
                    "id": "chatcmpl-test",
                    "object": "chat.completion",
                    "created": created,
                    "model": body.get("model", "test-chat"),
                    "choices": [
                        {"index": 0, "message": {"role": "assistant", "content": answer}, "finish_reason": "stop"}
                    ],
                    "usage": {
                        "prompt_tokens": len(grounding.split()),
                        "completion_tokens": len(answer.split()),
                        "total_tokens": len(grounding.split()) + len(answer.split()),
                    },
                },
            )
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        words = answer.split(" ")
        for i, word in enumerate(words):
            chunk = {
                "id": "chatcmpl-test",
                "object": "chat.completion.chunk",
                "created": created,
                "model": body.get("model", "test-chat"),
                "choices": [
                    {
                        "index": 0,
                        "delta": {"content": word + (" " if i < len(words) - 1 else "")},
                        "finish_reason": None,
                    }
                ],
            }
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.flush()
        final = {
            "id": "chatcmpl-test",
            "object": "chat.completion.chunk",
            "created": created,
            "model": body.get("model", "test-chat"),
            "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
        }
        self.wfile.write(f"data: {json.dumps(final)}\n\ndata: [DONE]\n\n".encode())

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
