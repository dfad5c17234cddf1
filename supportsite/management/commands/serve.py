"""Migrate, load the demo help centre into an empty database if asked, then serve with Daphne.

With --workers N (or SERVER_WORKERS) this process opens the listening socket once and starts N
Daphne processes that all accept on it (`daphne --fd`): one port, the kernel handing each new
connection to whichever worker accepts first. It restarts a worker that dies, collects their
Prometheus metrics in one PROMETHEUS_MULTIPROC_DIR (a temporary one unless set; cleared at start),
and stops them all on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.core import checks
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS


class Command(BaseCommand):
    help = "Apply migrations, optionally load the demo help centre, and serve the site with Daphne."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="Address to listen on (default 127.0.0.1).")
        parser.add_argument("--port", type=int, default=8000, help="Port to listen on (default 8000).")
        parser.add_argument(
            "--demo", action="store_true", help="Load the demo help centre when there are no articles yet."
        )
        parser.add_argument("--no-migrate", action="store_true", help="Skip `migrate` (another process ran it).")
        parser.add_argument(
            "--workers",
            type=int,
            default=None,
            help="Daphne processes sharing the port (default: SERVER_WORKERS, 1).",
        )

    def handle(self, *args, host: str, port: int, demo: bool, no_migrate: bool, workers: int | None, **options) -> None:
        workers = settings.SERVER_WORKERS if workers is None else workers
        if not 1 <= workers <= 64:
            raise CommandError(f"--workers must be between 1 and 64; got {workers}.")
        if workers > 1 and ":" in host:
            raise CommandError("--workers needs an IPv4 address to listen on (Daphne adopts IPv4 sockets only).")
        self._check_port_free(host, port)
        if not no_migrate:
            call_command("migrate", interactive=False, verbosity=0)
        if demo:
            call_command("load_demo", if_empty=True)
        # The apps' database checks (stored vectors of another model, an uncalibrated cut-off) are
        # worth a line at start.
        for message in checks.run_checks(tags=[checks.Tags.database], databases=[DEFAULT_DB_ALIAS]):
            if message.level >= checks.WARNING:
                self.stderr.write(self.style.WARNING(f"Warning: {message.msg}"))
        # Daphne, answering over-long request lines and headers with 414 / 431 (see http_server).
        from supportsite.http_server import CommandLineInterface

        external = bool(os.environ.get("DATABASE_URL", "").strip())
        where = "DATABASE_URL" if external else f"embedded PostgreSQL in {settings.DATA_DIR}"
        processes = f"{workers} worker processes" if workers > 1 else "one process"
        self.stdout.write(f"supportsite on http://{host}:{port}/ (database: {where}; {processes}); Ctrl-C stops it.")
        # Daphne runs in this process, so Ctrl-C ends both the server and (when this was the
        # last user of it) the embedded database, through pgserver's exit handler. A shell that
        # started us in the background leaves SIGINT ignored, and Twisted then keeps it so.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        if workers > 1:
            if not settings.REDIS_URL:
                self.stderr.write(
                    self.style.WARNING(
                        "Warning: REDIS_URL is not set, so each worker counts rate limits on its own and a "
                        "sign-out reaches only its own worker's websockets."
                    )
                )
            Workers(host, port, workers, stdout=self.stdout, stderr=self.stderr).run()
            return
        CommandLineInterface().run(["--bind", host, "--port", str(port), "supportsite.asgi:application"])

    @staticmethod
    def _check_port_free(host: str, port: int) -> None:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError as exc:
                raise CommandError(
                    f"Cannot listen on {host}:{port} ({exc.strerror}). Another server may be running: "
                    "stop it or choose another port with PORT=8001 make run."
                ) from None


class Workers:
    """N Daphne processes accepting on one socket that this process opened; restarted if they die."""

    # A worker that dies sooner than this after starting is crash-looping: wait before the next try.
    QUICK_DEATH_SECONDS = 10.0
    MAX_BACKOFF_SECONDS = 30.0

    def __init__(self, host: str, port: int, count: int, *, stdout, stderr) -> None:
        self.host, self.port, self.count = host, port, count
        self.stdout, self.stderr = stdout, stderr
        self.processes: list[subprocess.Popen | None] = [None] * count
        self.started: list[float] = [0.0] * count
        self.backoff: list[float] = [0.0] * count
        self.restart_at: list[float] = [0.0] * count

    def run(self) -> None:
        from django.db import connection

        from supportsite.env import database_url

        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, self.port))
        listener.listen(1024)
        metrics_dir, made_metrics_dir = self._metrics_dir()
        env = {
            **os.environ,
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
            # The embedded database (if any) stays this process's to start and stop. A DATABASE_URL
            # given is passed on as it is, with its options (search_path, sslmode).
            "DATABASE_URL": os.environ.get("DATABASE_URL", "").strip() or database_url(connection.settings_dict),
        }
        # Each worker's model process shares the cores with the others': half the cores in all,
        # as for one process (settings.EMBEDDING_QUERY_THREADS), at least 1 and at most 4 each (2
        # cores, 2 workers, every question new, float kernel: x0.96 / x0.93 the peer's req/s with
        # 1 thread each, x0.82 / x0.72 / x0.92 with 2). A value that is set is kept.
        if not os.environ.get("EMBEDDING_QUERY_THREADS", "").strip():
            env["EMBEDDING_QUERY_THREADS"] = str(min(4, max(1, (os.cpu_count() or 1) // (2 * self.count))))
        connection.close()
        # `docker stop` and service managers send SIGTERM: stop the workers as Ctrl-C does.
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        try:
            for index in range(self.count):
                self._start(index, listener, env)
            while True:
                time.sleep(0.5)
                for index, process in enumerate(self.processes):
                    if process is not None and process.poll() is None:
                        continue
                    if process is not None:
                        self._buried(index, process, metrics_dir)
                    if time.monotonic() >= self.restart_at[index]:
                        self._start(index, listener, env)
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            self._stop_all()
            listener.close()
            if made_metrics_dir:
                shutil.rmtree(metrics_dir, ignore_errors=True)

    def _metrics_dir(self) -> tuple[Path, bool]:
        configured = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "").strip()
        if not configured:
            return Path(tempfile.mkdtemp(prefix="supportsite-metrics-")), True
        path = Path(configured)
        path.mkdir(parents=True, exist_ok=True)
        # Left over from an earlier run: stale counts would be added to this run's.
        for stale in path.glob("*.db"):
            stale.unlink(missing_ok=True)
        return path, False

    def _start(self, index: int, listener: socket.socket, env: dict[str, str]) -> None:
        fd = listener.fileno()
        self.processes[index] = subprocess.Popen(
            [sys.executable, "-m", "supportsite.http_server", "--fd", str(fd), "supportsite.asgi:application"],
            env=env,
            pass_fds=(fd,),
        )
        self.started[index] = time.monotonic()

    def _buried(self, index: int, process: subprocess.Popen, metrics_dir: Path) -> None:
        """A worker died: drop its live gauges and plan its restart (later if it died young)."""
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(process.pid, str(metrics_dir))
        lived = time.monotonic() - self.started[index]
        young = lived < self.QUICK_DEATH_SECONDS
        self.backoff[index] = min(max(1.0, self.backoff[index] * 2), self.MAX_BACKOFF_SECONDS) if young else 0.0
        self.restart_at[index] = time.monotonic() + self.backoff[index]
        self.stderr.write(
            f"worker {process.pid} exited with {process.returncode} after {lived:.0f} s; "
            f"restarting it{f' in {self.backoff[index]:.0f} s' if self.backoff[index] else ''}"
        )
        self.processes[index] = None

    def _stop_all(self) -> None:
        running = [p for p in self.processes if p is not None and p.poll() is None]
        for process in running:
            process.terminate()
        deadline = time.monotonic() + 10
        for process in running:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
