"""bench/phrasing_speed.py (issue 17, point 7) seeds articles and phrasings in a scratch database and
prints search()'s p50 with and without phrasings beside the floor, and the ratio against 1.2."""

from __future__ import annotations

import re

import pytest

from tests.conftest import run_benchmark


@pytest.mark.timeout(240)
def test_phrasing_speed_benchmark_prints_every_phase_and_the_ratio():
    result = run_benchmark("phrasing_speed.py", "--articles", "150", "--phrasings", "2", "--seconds", "0.5")

    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "phrasings       300 seeded" in out, out
    for phase in ("floor, articles alone", "search(), articles alone", "search(), with phrasings"):
        row = re.search(rf"^  {re.escape(phase)}\s+(\d+)\s+([\d.]+)\s+([\d.]+)$", out, re.M)
        assert row and int(row[1]) > 0 and float(row[2]) > 0, (phase, out)
    assert re.search(
        r"^p50 with phrasings / articles alone \(mean of both\)\s+[\d.]+\s+\(target <= 1.2: (met|NOT met)\)$", out, re.M
    ), out
