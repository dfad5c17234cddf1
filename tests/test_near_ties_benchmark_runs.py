"""bench/near_ties.py runs end to end on a tiny set and prints its margin sweep and the rule's pick."""

from __future__ import annotations

import re

import pytest

from tests.conftest import run_benchmark
from tests.test_benchmarks_run import FAQS, QUERIES, UNANSWERABLE, _write_jsonl


@pytest.mark.timeout(180)
def test_the_near_ties_benchmark_prints_a_margin_sweep_and_the_margin_its_rule_picks(tmp_path):
    dataset = tmp_path / "tiny"
    _write_jsonl(dataset / "faqs.jsonl", FAQS)
    _write_jsonl(dataset / "queries.jsonl", [{"qid": q, "query": t, "relevant_ids": r} for q, t, r in QUERIES])
    _write_jsonl(dataset / "unanswerable.jsonl", [{"qid": f"u{n}", "query": t} for n, t in enumerate(UNANSWERABLE)])

    result = run_benchmark("near_ties.py", str(dataset))

    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "5 articles (0 bad), 6 answerable queries, 2 off-topic" in out
    rows = re.findall(r"^(0\.\d{3})\s+([01]\.\d{3})\s", out, re.M)
    assert [margin for margin, _ in rows][:2] == ["0.000", "0.005"] and len(rows) >= 8, out
    assert float(rows[0][1]) == 0.0, "at margin 0 nothing is tied"
    assert re.search(r"^rule \(two/first >= 1\.5 .*: 0\.\d{3} on this set; configured 0\.\d{3}$", out, re.M), out
    assert "<- configured" in out
