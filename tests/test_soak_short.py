"""A short soak in the suite: mixed traffic from concurrent clients, nothing lost, no 5xx, no hangs."""

from __future__ import annotations

import pytest

from tests.conftest import run_benchmark


@pytest.mark.timeout(300)
def test_a_short_soak_loses_no_history_and_refuses_quickly_when_the_pool_is_exhausted():
    result = run_benchmark("soak.py", "--clients", "8", "--seconds", "5", timeout=280)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "verdict: all checks passed" in result.stdout
    assert "0 missing or doubled, 0 rows for refused questions" in result.stdout
    assert "quick 503s" in result.stdout
