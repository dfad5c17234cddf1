"""bench/search_load.py --workers 2 runs its load against `serve --workers 2` (two Daphne processes
on one port) and prints the same table, with no errors."""

from __future__ import annotations

import re

import pytest

from tests.conftest import run_benchmark


@pytest.mark.timeout(240)
def test_search_load_benchmark_runs_against_two_workers_on_one_port():
    result = run_benchmark("search_load.py", "--articles", "100", "--seconds", "2", "--clients", "4", "--workers", "2")

    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "server                   2 Daphne worker processes on one port (serve --workers)" in out
    row = re.search(r"^  4 client\(s\), distinct\s+(\d+)\s+([\d.]+)\s+[\d.]+\s+[\d.]+\s+(\d+)\s+\d+%$", out, re.M)
    assert row, out
    assert int(row[1]) > 0 and float(row[2]) > 0 and int(row[3]) == 0, out
    assert "distinct req/s / floor ops/s at 4 clients" in out
