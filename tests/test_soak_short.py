"""A short soak in the suite: mixed traffic from concurrent clients, nothing lost, no 5xx, no hangs;
then, with the pool cut to one connection, questions really are refused (503), quickly, and a
refused question leaves no history row."""

from __future__ import annotations

import re

import pytest

from tests.conftest import run_benchmark

# The pool-exhaustion phase waits 100 ms for a connection; anything near the benchmark's own
# 10 s "hanging" mark means requests queued instead of being refused.
QUICK_MS = 5000


def _phase(out: str, name: str) -> str:
    """The lines the soak printed for one phase."""
    match = re.search(rf"^{re.escape(name)}: .*?(?=^\S|\Z)", out, re.M | re.S)
    assert match, f"no {name!r} phase in:\n{out}"
    return match.group(0)


def _history(section: str) -> tuple[int, int, int]:
    match = re.search(
        r"history: (\d+) successful questions with exactly one row, (\d+) missing or doubled, "
        r"(\d+) rows for refused questions",
        section,
    )
    assert match, section
    return int(match[1]), int(match[2]), int(match[3])


def _statuses(section: str, kind: str) -> dict[int, int]:
    match = re.search(rf"^  {kind}\s.*\[(.*)\]$", section, re.M)
    assert match, section
    return {int(code): int(n) for code, n in re.findall(r"(\d+): (\d+)", match[1])}


@pytest.mark.timeout(300)
def test_a_short_soak_loses_no_history_and_refuses_quickly_when_the_pool_is_exhausted():
    result = run_benchmark("soak.py", "--clients", "8", "--seconds", "5", timeout=280)
    out = result.stdout
    assert result.returncode == 0, out[-3000:] + result.stderr[-3000:]
    assert "verdict: all checks passed" in out

    steady = _phase(out, "steady")
    exact, wrong, stray = _history(steady)
    assert exact > 0 and wrong == 0 and stray == 0, steady
    assert ", 0 client errors" in steady, steady

    exhausted = _phase(out, "pool exhausted")
    exact, wrong, stray = _history(exhausted)
    assert wrong == 0 and stray == 0, exhausted
    refused = re.search(r"pool exhaustion: (\d+) quick 503s; slowest response (\d+) ms", exhausted)
    assert refused, exhausted
    assert int(refused[1]) > 0, "the one-connection pool never refused anything: the phase tested nothing"
    assert int(refused[2]) < QUICK_MS, f"a response took {refused[2]} ms while the pool was exhausted"
    questions_refused = sum(_statuses(exhausted, kind).get(503, 0) for kind in ("ai_faq_search", "search_page"))
    assert questions_refused > 0, "no question was refused, so '0 rows for refused questions' proves nothing"
