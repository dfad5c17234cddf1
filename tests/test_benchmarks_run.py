"""The benchmarks in bench/ run end to end on tiny inputs and print their tables.

They run as subprocesses on the suite's embedded database (each makes and drops its own scratch
database there), so a change that breaks them shows up here, not on the day someone needs a number.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import run_benchmark

FAQS = [
    {"id": "reset-password", "question": "How do I reset my password?", "answer": "Use the Forgot password link."},
    {"id": "track-order", "question": "Where is my parcel?", "answer": "Open Your orders to see its tracking."},
    {"id": "return-item", "question": "How do I return an item?", "answer": "Start a return within 30 days."},
    {"id": "gift-card", "question": "How do I check a gift card balance?", "answer": "Enter its number at checkout."},
    {"id": "delete-account", "question": "How do I delete my account?", "answer": "Ask us under Privacy settings."},
]
QUERIES = [
    ("q1", "forgot my password", ["reset-password"]),
    ("q2", "where is my delivery", ["track-order"]),
    ("q3", "i want to send something back", ["return-item"]),
    ("q4", "how much is left on my gift card", ["gift-card"]),
    ("q5", "close my account for good", ["delete-account"]),
    ("q6", "cant log in, need a new password", ["reset-password"]),
]
UNANSWERABLE = ["do you sell second-hand cars", "what is your share price"]
OTHER_DOMAIN = ["what is the boiling point of water", "who painted the mona lisa", "best pizza topping"]


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")


@pytest.mark.timeout(180)
def test_retrieval_benchmark_prints_quality_and_cutoff_sweep_and_shipped_ranks_no_worse_than_vector_only(tmp_path):
    dataset, other = tmp_path / "tiny", tmp_path / "other"
    _write_jsonl(dataset / "faqs.jsonl", FAQS)
    _write_jsonl(dataset / "queries.jsonl", [{"qid": q, "query": t, "relevant_ids": r} for q, t, r in QUERIES])
    _write_jsonl(
        dataset / "unanswerable.jsonl",
        [{"qid": f"u{n}", "query": text, "relevant_ids": []} for n, text in enumerate(UNANSWERABLE)],
    )
    _write_jsonl(
        other / "queries.jsonl",
        [{"qid": f"o{n}", "query": text, "relevant_ids": ["elsewhere"]} for n, text in enumerate(OTHER_DOMAIN)],
    )

    result = run_benchmark("retrieval.py", str(dataset), "--ood", str(other))

    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "5 articles imported (0 bad), 6 answerable queries, 2 unanswerable" in out
    for ranking in ("vector", "keyword", "shipped"):
        assert re.search(rf"^{ranking}\s+[01]\.\d{{3}}\s+[01]\.\d{{3}}\s+[01]\.\d{{3}}\s+\d", out, re.M), out
    assert "hit@1" in out and "MRR@10" in out
    for rate in ("answered-correct", "answered-wrong", "abstained"):
        assert re.search(rf"^  {rate}\s+[01]\.\d{{3}}$", out, re.M), out
    assert "out-of-domain rightly abstained, tiny unanswerable (2)" in out
    assert "out-of-domain rightly abstained, other queries (3)" in out
    assert len(re.findall(r"^0\.[3-6]\d\s", out, re.M)) >= 7  # the cut-off sweep 0.30 .. 0.60
    assert "<- configured" in out
    assert "time per query (median)" in out
    # The design's rule: the shipped (hybrid) ranking must not rank worse than vectors alone.
    assert re.search(r"^shipped >= vector-only on hit@1 and MRR@10: yes$", out, re.M), out
    scores = {
        m[1]: (float(m[2]), float(m[3]))
        for m in re.finditer(r"^(vector|shipped)\s+([01]\.\d{3})\s+[01]\.\d{3}\s+([01]\.\d{3})\s", out, re.M)
    }
    assert scores["shipped"][0] >= scores["vector"][0], "the verdict matches the printed hit@1"
    assert scores["shipped"][1] >= scores["vector"][1], "the verdict matches the printed MRR@10"


@pytest.mark.timeout(180)
def test_search_load_benchmark_runs_against_daphne_without_errors():
    result = run_benchmark(
        "search_load.py", "--articles", "200", "--seconds", "2", "--clients", "1,4", "--phrasings", "2"
    )

    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "200 imported" in out
    rows = {
        (int(m[1]), m[2]): (float(m[3]), int(m[4]))
        for m in re.finditer(
            r"^  (\d+) client\(s\), (repeated|distinct)\s+\d+\s+([\d.]+)\s+[\d.]+\s+[\d.]+\s+(\d+)\s+\d+%$", out, re.M
        )
    }
    # Both loads, every question new beside the repeated ones, at each client count.
    assert set(rows) == {(n, load) for n in (1, 4) for load in ("repeated", "distinct")}, out
    assert all(rate > 0 and errors == 0 for rate, errors in rows.values()), out
    assert re.search(r"^  1 thread\(s\)\s+\d+\s+[\d.]+", out, re.M), out
    assert re.search(r"^  4 thread\(s\)\s+\d+\s+[\d.]+", out, re.M), out
    assert "endpoint p50 / floor p50 at 1 client" in out
    assert "repeated req/s / floor ops/s at 4 clients" in out
    assert "distinct req/s / floor ops/s at 4 clients" in out
    # --phrasings: the distinct load again with 2 approved phrasings per article, then without.
    assert "400 approved" in out, out
    assert re.search(r"^p50 with phrasings / alone at 1 client\(s\)\s+[\d.]+", out, re.M), out
    assert re.search(r"^  with phrasings, 4 client\(s\)\s+[\d.]+\s+[\d.]+\s+0$", out, re.M), out


@pytest.mark.timeout(180)
def test_query_process_benchmark_prints_both_places_beside_a_busy_thread_and_a_busy_process():
    result = run_benchmark("query_process.py", "--runs", "5", "--batch", "2")

    assert result.returncode == 0, result.stdout + result.stderr
    line = r"^(in the server's process|in a model process)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)$"
    rows = re.findall(line, result.stdout, re.M)
    assert [row[0] for row in rows] == ["in the server's process", "in a model process"], result.stdout
    assert all(float(value) > 0 for row in rows for value in row[1:]), result.stdout
