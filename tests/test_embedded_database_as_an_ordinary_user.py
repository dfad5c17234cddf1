"""The embedded database works for an unprivileged user, beside one that root already started."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import pytest

from tests.conftest import ROOT

SCRIPT = """
import sys
from pathlib import Path
import psycopg
from supportsite import embedded_db
url = embedded_db.start(Path(sys.argv[1]))
with psycopg.connect(url) as conn:
    conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    print("distance", conn.execute("SELECT '[1,0]'::vector <=> '[1,0]'::vector").fetchone()[0])
embedded_db.stop(Path(sys.argv[1]))
pg = Path(sys.argv[1]) / "pg"
print("stopped" if (pg / "PG_VERSION").exists() and not (pg / "postmaster.pid").exists() else "running")
"""


def _as_user(user: str, argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    entry = pwd.getpwnam(user)
    return subprocess.run(
        argv,
        env=env,
        user=entry.pw_uid,
        group=entry.pw_gid,
        extra_groups=[],
        capture_output=True,
        text=True,
        timeout=180,
        cwd="/",
    )


def _interpreter_for(user: str) -> tuple[str, dict[str, str]] | None:
    """A python of this version that `user` may execute, and the environment to find our packages."""
    site = sysconfig.get_paths()["purelib"]
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{ROOT}:{site}", "HOME": "/tmp"}
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for candidate in (sys.executable, shutil.which(version, path="/usr/local/bin:/usr/bin")):
        try:
            if candidate and _as_user(user, [candidate, "-c", "import psycopg"], env).returncode == 0:
                return candidate, env
        except PermissionError:  # the interpreter sits where the user may not go
            continue
    return None


@pytest.mark.skipif(os.geteuid() != 0, reason="not root: the whole suite already runs as an ordinary user")
def test_an_unprivileged_user_starts_its_own_embedded_database():
    user = "nobody"
    found = _interpreter_for(user)
    if found is None:
        pytest.skip(f"no python {sys.version_info[:2]} that {user!r} may execute (this venv's lives under /root)")
    python, env = found
    # pytest's tmp_path lives under a root-only folder; the user needs its own.
    data_dir = Path(tempfile.mkdtemp(prefix="supportsite-user-"))
    entry = pwd.getpwnam(user)
    os.chown(data_dir, entry.pw_uid, entry.pw_gid)
    # pgserver's default lock file, left behind by root: the pitfall a private runtime dir avoids.
    shared_lock = Path("/tmp/.lockfile")
    created = not shared_lock.exists()
    if created:
        shared_lock.touch(mode=0o600)
    try:
        result = _as_user(user, [python, "-c", SCRIPT, str(data_dir)], env)
    finally:
        if created:
            shared_lock.unlink()
        shutil.rmtree(data_dir, ignore_errors=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "distance 0" in result.stdout
    assert "stopped" in result.stdout
