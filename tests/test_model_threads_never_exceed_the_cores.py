"""EMBEDDING_THREADS above the machine's cores is capped: more model threads than cores only oversubscribe."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ROOT


def test_embedding_threads_above_the_cores_are_capped_at_the_cores():
    env = {**os.environ, "EMBEDDING_THREADS": "64", "SECRET_KEY": "insecure-test-only-key"}
    env["DJANGO_SETTINGS_MODULE"] = "supportsite.settings"
    out = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; print(settings.EMBEDDING_THREADS)"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert int(out) == os.cpu_count()
