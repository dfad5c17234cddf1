"""Schemathesis fuzzes every API operation, from the live OpenAPI schema, against a real Daphne:
no generated request (valid or not) may get a 5xx, every status and content type that comes back
is documented, and every body (answers and refusals alike) matches its documented schema."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import add_articles

pytestmark = pytest.mark.timeout(240)

# Per operation and per mode (valid and invalid requests): bounded so the whole file stays under a minute.
MAX_EXAMPLES = 40
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def schema(server_url, transactional_db):
    add_articles("reset-password", "track-order", "return-window", "refund-timing")
    return schemathesis.openapi.from_url(server_url + "/api/openapi.json", timeout=30)


@pytest.fixture
def server_url(live_server_url) -> str:
    return live_server_url


def operations(schema) -> list:
    found = [result.ok() for result in schema.get_all_operations()]
    assert {(op.method.upper(), op.path) for op in found} >= {
        ("POST", "/api/ai_faq_search"),
        ("POST", "/api/recommendations"),
    }, "the schema lists the API's operations"
    return found


def fuzz(operation, *, mode: GenerationMode, base_url: str) -> list[int]:
    """Send MAX_EXAMPLES generated requests to one operation; return the statuses they got."""
    statuses: list[int] = []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,  # no example database: failures are reproduced by derandomize instead
        derandomize=True,  # the same cases every run: a failure here is reproducible
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )
    def run(case) -> None:
        response = case.call_and_validate(base_url=base_url, checks=CHECKS, timeout=30)
        statuses.append(response.status_code)

    run()
    return statuses


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
def test_generated_requests_never_get_a_server_error(schema, server_url, mode):
    statuses = {op.path: fuzz(op, mode=mode, base_url=server_url) for op in operations(schema)}

    # Not a vacuous pass: valid requests were answered (so their bodies were checked against the
    # schema) and invalid ones refused, on every operation.
    for path, seen in statuses.items():
        assert len(seen) >= 10, f"{path}: only {len(seen)} requests sent"
        if mode == GenerationMode.POSITIVE:
            assert 200 in seen, f"{path}: no valid request succeeded: {sorted(set(seen))}"
        else:
            assert all(400 <= status < 500 for status in seen), f"{path}: {sorted(set(seen))}"
