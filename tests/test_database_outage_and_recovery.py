"""The database goes away and comes back: quick 503s meanwhile, then recovery with no restart."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from supportsite import embedded_db
from tests.conftest import ROOT, daphne_process

pytestmark = pytest.mark.timeout(300)


def _get(url: str, *, data: bytes | None = None, accept: str = "text/html") -> tuple[int, str, dict]:
    request = urllib.request.Request(url, data=data, headers={"Accept": accept, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, response.read().decode(), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(), dict(error.headers)


@pytest.fixture
def own_database():
    """A separate embedded PostgreSQL that this test may stop and start (never the suite's)."""
    data_dir = Path(tempfile.mkdtemp(prefix="supportsite-outage-"))
    url = embedded_db.start(data_dir)
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "x", "DB_POOL_MIN": "1", "DB_POOL_TIMEOUT": "2"}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=180)
    yield data_dir, env
    embedded_db.stop(data_dir)
    shutil.rmtree(data_dir, ignore_errors=True)


def test_a_database_outage_gives_quick_503s_and_the_site_recovers_by_itself(own_database):
    data_dir, env = own_database
    question = json.dumps({"query": "how do I reset my password"}).encode()
    with daphne_process(env) as (base, server):
        assert _get(base + "/api/ai_faq_search", data=question, accept="application/json")[0] == 200

        embedded_db.stop(data_dir)
        started = time.monotonic()
        status, body, headers = _get(base + "/api/ai_faq_search", data=question, accept="application/json")
        assert status == 503 and "database is not answering" in json.loads(body)["error"]
        assert headers.get("Retry-After") == "5"
        assert time.monotonic() - started < 10, "no hanging while the database is away"
        status, body, _ = _get(base + "/")
        assert status == 503 and "briefly unavailable" in body and "Traceback" not in body
        status, body, _ = _get(base + "/readyz", accept="application/json")
        assert status == 503 and json.loads(body)["checks"]["database"].startswith("unreachable")
        assert _get(base + "/healthz")[0] == 200, "the process itself is alive"

        embedded_db.start(data_dir)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if _get(base + "/readyz")[0] == 200 and _get(base + "/api/ai_faq_search", data=question)[0] == 200:
                break
            time.sleep(0.5)
        else:
            pytest.fail("the site did not recover after the database came back")
        assert _get(base + "/")[0] == 200
        server.terminate()
        server.wait(20)
        output = server.log_path.read_text()
    assert "Traceback" not in output, output[-3000:]
