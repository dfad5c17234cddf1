"""Migrate, load the demo help centre into an empty database if asked, then serve with Daphne."""

from __future__ import annotations

import os
import signal
import socket

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Apply migrations, optionally load the demo help centre, and serve the site with Daphne."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="Address to listen on (default 127.0.0.1).")
        parser.add_argument("--port", type=int, default=8000, help="Port to listen on (default 8000).")
        parser.add_argument(
            "--demo", action="store_true", help="Load the demo help centre when there are no articles yet."
        )
        parser.add_argument("--no-migrate", action="store_true", help="Skip `migrate` (another process ran it).")

    def handle(self, *args, host: str, port: int, demo: bool, no_migrate: bool, **options) -> None:
        self._check_port_free(host, port)
        if not no_migrate:
            call_command("migrate", interactive=False, verbosity=0)
        if demo:
            call_command("load_demo", if_empty=True)
        from faq.vector_schema import embedding_problems

        for problem in embedding_problems():
            self.stderr.write(self.style.WARNING(f"Warning: {problem}"))
        from daphne.cli import CommandLineInterface

        external = bool(os.environ.get("DATABASE_URL", "").strip())
        where = "DATABASE_URL" if external else f"embedded PostgreSQL in {settings.DATA_DIR}"
        self.stdout.write(f"supportsite on http://{host}:{port}/ (database: {where}); Ctrl-C stops it.")
        # Daphne runs in this process, so Ctrl-C ends both the server and (when this was the
        # last user of it) the embedded database, through pgserver's exit handler. A shell that
        # started us in the background leaves SIGINT ignored, and Twisted then keeps it so.
        signal.signal(signal.SIGINT, signal.default_int_handler)
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
