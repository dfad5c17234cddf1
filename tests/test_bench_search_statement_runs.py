"""bench/search_statement.py times search() and the history insert for distinct questions in a scratch
database and reports how PostgreSQL runs the prepared search statement."""

from __future__ import annotations

import re

import pytest

from tests.conftest import run_benchmark


@pytest.mark.timeout(240)
def test_search_statement_benchmark_prints_both_phases_and_the_prepared_plan():
    result = run_benchmark(
        "search_statement.py", "--articles", "150", "--phrasings", "2", "--questions", "20", "--rounds", "2"
    )

    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "articles        150 and 300 phrasings seeded" in out, out
    for phase in ("search()", "record_answer"):
        row = re.search(rf"^  {re.escape(phase)}\s+40\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+|n/a)$", out, re.M)
        assert row and float(row[1]) > 0 and float(row[2]) > 0, (phase, out)
    # The warm-up (the 20 questions), one search per question kept, 2 rounds: all on one statement.
    plan = re.search(
        r"^search statement  _pg3_\d+: (\d+) generic and (\d+) custom plans so far; its plan scans ", out, re.M
    )
    assert plan and int(plan[1]) + int(plan[2]) == 20 + 20 + 2 * 20, out
