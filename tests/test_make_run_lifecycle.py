"""`make run` as a new user runs it: serve, keep data across runs, stop on Ctrl-C, recover from kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.conftest import ROOT, free_port, wait_for_http

pytestmark = pytest.mark.timeout(600)


def _env(data_dir: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "SECRET_KEY", "DEBUG"}}
    env.update({"DATA_DIR": str(data_dir), "PORT": str(port)})
    return env


_started: list[subprocess.Popen] = []


@pytest.fixture(autouse=True)
def _stop_leftover_runs():
    yield
    for process in _started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            process.communicate(timeout=60)
    _started.clear()


def _start(data_dir: Path, port: int) -> subprocess.Popen:
    # A terminal's Ctrl-C reaches the whole foreground process group: make and its children.
    process = subprocess.Popen(
        ["make", "run"],
        cwd=ROOT,
        env=_env(data_dir, port),
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    _started.append(process)
    return process


def _manage_shell(data_dir: Path, code: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=_env(data_dir, 0),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    # Django's shell announces its automatic imports first; the answer is the last line.
    return result.stdout.strip().splitlines()[-1]


def _postmaster_pid(data_dir: Path) -> int | None:
    pid_file = data_dir / "pg" / "postmaster.pid"
    return int(pid_file.read_text().split()[0]) if pid_file.exists() else None


def _ctrl_c(process: subprocess.Popen) -> str:
    os.killpg(process.pid, signal.SIGINT)
    out, _ = process.communicate(timeout=60)
    return out


def test_make_run_keeps_data_between_runs_and_ctrl_c_stops_everything(tmp_path):
    port = free_port()
    first = _start(tmp_path, port)
    wait_for_http(f"http://127.0.0.1:{port}/healthz", process=first, timeout=300)
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0, "the generated key is private"
    # A second process (an operator's manage.py command) joins the same embedded database.
    _manage_shell(tmp_path, "from django.contrib.auth.models import User; User.objects.create_user('kept')")
    articles = _manage_shell(tmp_path, "from faq.models import FaqDocument; print(FaqDocument.objects.count())")
    assert int(articles) >= 80, "make run loads the demo help centre into an empty database"
    out = _ctrl_c(first)
    assert "Traceback" not in out, out
    assert _postmaster_pid(tmp_path) is None, "the embedded PostgreSQL stopped with the server"

    second = _start(tmp_path, port)
    wait_for_http(f"http://127.0.0.1:{port}/healthz", process=second, timeout=120)
    assert _manage_shell(tmp_path, "from django.contrib.auth.models import User; print(User.objects.count())") == "1"
    assert _manage_shell(tmp_path, "from faq.models import FaqDocument; print(FaqDocument.objects.count())") == articles
    out = _ctrl_c(second)
    assert "Traceback" not in out
    assert "the demo was not loaded" in out


def test_a_run_killed_with_sigkill_is_recovered_with_a_clear_message(tmp_path):
    port = free_port()
    first = _start(tmp_path, port)
    wait_for_http(f"http://127.0.0.1:{port}/healthz", process=first, timeout=300)
    _manage_shell(tmp_path, "from django.contrib.auth.models import User; User.objects.create_user('survivor')")
    # The app is OOM-killed: no exit handler runs, PostgreSQL and its handle file stay behind.
    os.killpg(first.pid, signal.SIGKILL)
    first.communicate(timeout=30)
    orphan = _postmaster_pid(tmp_path)
    assert orphan is not None and psutil.pid_exists(orphan)

    second = _start(tmp_path, port)
    wait_for_http(f"http://127.0.0.1:{port}/healthz", process=second, timeout=120)
    out = _ctrl_c(second)
    assert "Recovered from an earlier run that was killed" in out
    assert "Traceback" not in out, out
    assert _postmaster_pid(tmp_path) is None, "the reused server is stopped by the run that took it over"

    # Now PostgreSQL itself dies hard, leaving a stale postmaster.pid behind.
    third = _start(tmp_path, port)
    wait_for_http(f"http://127.0.0.1:{port}/healthz", process=third, timeout=120)
    postmaster = psutil.Process(_postmaster_pid(tmp_path))
    children = postmaster.children(recursive=True)
    os.killpg(third.pid, signal.SIGKILL)
    third.communicate(timeout=30)
    postmaster.kill()
    psutil.wait_procs([postmaster, *children], timeout=30)
    assert (tmp_path / "pg" / "postmaster.pid").exists(), "a stale pid file is left"
    time.sleep(0.5)

    fourth = _start(tmp_path, port)
    wait_for_http(f"http://127.0.0.1:{port}/healthz", process=fourth, timeout=120)
    names = _manage_shell(tmp_path, "from django.contrib.auth.models import User; print(User.objects.get().username)")
    assert names == "survivor"
    assert "Traceback" not in _ctrl_c(fourth)
