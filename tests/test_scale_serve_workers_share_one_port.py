"""`manage.py serve --workers 2`: two Daphne processes behind one port, both serving, their metrics
added up; a worker that dies is replaced while the port keeps answering; SIGTERM stops them all."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import psutil
import pytest

from tests.conftest import add_articles, app_process, server_env, wait_for_http
from tests.test_metrics_and_probes import _series

pytestmark = pytest.mark.django_db(transaction=True)


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as response:
        assert response.status == 200
        return response.read()


def _worker_requests(base: str) -> dict[int, float]:
    """server_worker_requests by pid: what each live worker has served."""
    text = _get(base + "/metrics").decode()
    return {
        int(pid): float(value)
        for pid, value in re.findall(r'^server_worker_requests\{pid="(\d+)"\} (\S+)$', text, re.M)
    }


def _workers(parent: subprocess.Popen) -> set[int]:
    return {child.pid for child in psutil.Process(parent.pid).children() if child.is_running()}


@pytest.fixture
def served(django_db_blocker, fresh_redis, tmp_path):
    add_articles("reset-password")
    (tmp_path / "metrics").mkdir()
    with django_db_blocker.unblock():
        env = server_env(REDIS_URL=fresh_redis.url, PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"))
    # The parent stops its workers before it exits: give it longer than one Daphne.
    with app_process(
        lambda port: [sys.executable, "manage.py", "serve", "--workers", "2", "--no-migrate", "--port", str(port)],
        env,
        stop_seconds=20,
    ) as served:
        yield served


def test_two_workers_answer_on_one_port_and_their_metrics_add_up(served):
    base, parent = served
    deadline = time.monotonic() + 60
    with ThreadPoolExecutor(8) as pool:
        while time.monotonic() < deadline:
            list(pool.map(lambda _: _get(base + "/healthz"), range(32)))
            served_by = _worker_requests(base)
            if len(served_by) == 2 and min(served_by.values()) > 0:
                break
    assert set(served_by) == _workers(parent), "both live workers, and only they, report"
    assert len(served_by) == 2 and min(served_by.values()) > 0, f"one worker served everything: {served_by}"

    for question in ("I forgot my password", "what is the capital of peru", "who wrote hamlet"):
        body = json.dumps({"query": question}).encode()
        request = urllib.request.Request(
            base + "/api/ai_faq_search", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200
    for _ in range(4):  # whichever worker answers the scrape reports all three questions
        text = _get(base + "/metrics").decode()
        assert _series(text, "ai_answers_total") == 3
        assert _series(text, "database_pool_size") >= 2, "the pool gauges add up both workers' pools"


def test_a_killed_worker_is_replaced_while_the_port_keeps_answering(served):
    base, parent = served
    before = _workers(parent)
    assert len(before) == 2
    victim = min(before)
    psutil.Process(victim).send_signal(signal.SIGKILL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        _get(base + "/healthz")  # the survivor answers meanwhile
        now = _workers(parent)
        if len(now) == 2 and victim not in now:
            break
        time.sleep(0.2)
    assert len(now) == 2 and victim not in now, f"no replacement for worker {victim}: {now}"
    replacement = (now - before).pop()
    wait_for_http(base + "/readyz")
    deadline = time.monotonic() + 30
    while replacement not in _worker_requests(base) and time.monotonic() < deadline:
        _get(base + "/healthz")
    assert victim not in _worker_requests(base), "a dead worker's live gauges are dropped"
    assert replacement in _worker_requests(base), "the replacement serves on the same port"
    assert "restarting it" in parent.log_path.read_text()


def test_sigterm_stops_the_parent_and_every_worker(served):
    base, parent = served
    workers = _workers(parent)
    parent.send_signal(signal.SIGTERM)
    assert parent.wait(20) == 0
    assert not any(psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE for pid in workers)
    with pytest.raises(OSError):
        urllib.request.urlopen(base + "/healthz", timeout=2)
