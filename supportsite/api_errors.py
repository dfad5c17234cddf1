"""The one shape of every API refusal, documented in the OpenAPI schema beside each 200."""

from __future__ import annotations

from ninja import Schema


class ErrorOut(Schema):
    """Every refusal: what is wrong, in words, and the request id to quote to support."""

    error: str
    request_id: str
    detail: list[dict] | None = None  # 422 only: the validator's findings, one per field


def error_responses(*statuses: int) -> dict[int, type[ErrorOut]]:
    """The documented refusals of an operation, for `response={200: ..., **error_responses(...)}`."""
    return dict.fromkeys(statuses, ErrorOut)


# What any JSON operation may answer besides 200: unreadable body (400), unknown or revoked token
# (401), acting for someone else or without CSRF (403), unknown user (404), body too large (413),
# not JSON (415), invalid fields (422), rate limited (429), database unavailable (503).
REFUSALS = (400, 401, 403, 404, 413, 415, 422, 429, 503)
