"""bench/cluster_questions.py runs end to end on a small input and prints its figures (the suite's
own database server; the benchmark makes and drops a scratch database there)."""

from __future__ import annotations

import re

import pytest

from tests.conftest import run_benchmark


@pytest.mark.timeout(240)
def test_the_clustering_benchmark_prints_time_memory_and_an_idempotent_second_run():
    result = run_benchmark("cluster_questions.py", "--questions", "2000", "--phrasings", "60", timeout=220)

    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "set-up: 2,000 questions from 60 phrasings" in out
    assert re.search(r"^command: clustered 2000 question\(s\) of the last 90 days into \d+ cluster\(s\)", out, re.M)
    assert re.search(r"^questions clustered\s+2,000$", out, re.M), out
    assert re.search(r"^wall time \(1st run\)\s+[\d.]+ s\s+\(target < 120 s: met\)$", out, re.M), out
    assert re.search(r"^peak RSS of the command\s+\d+ MB$", out, re.M), out
    assert "second run gives the same queue: yes" in out
