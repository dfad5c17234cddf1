from __future__ import annotations

import atexit
import os

from django.apps import AppConfig


class SupportsiteConfig(AppConfig):
    name = "supportsite"
    verbose_name = "Site"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_out, user_login_failed
        from django.core.signals import request_finished
        from django.db.backends.signals import connection_created

        from supportsite import checks, metrics, signin_limits
        from supportsite.channel_layer import close_session_sockets

        # `check --deploy` sees Django's middleware under the names it wraps them in.
        checks.install()

        # Every SQL statement is timed and every database error counted, whatever runs it.
        connection_created.connect(metrics.install_query_timer, dispatch_uid="supportsite.query_timer")
        request_finished.connect(metrics.update_pool_gauges, dispatch_uid="supportsite.pool_gauges")
        request_finished.connect(metrics.count_worker_request, dispatch_uid="supportsite.worker_requests")
        # Failed sign-ins count towards the per-account and per-address limits.
        user_login_failed.connect(signin_limits.count_failed_sign_in, dispatch_uid="supportsite.sign_in_failures")
        # A sign-out on any server process closes that session's websockets on all of them.
        user_logged_out.connect(close_session_sockets, dispatch_uid="supportsite.close_session_sockets")
        # Alerts on rates of errors read 0, not "no data", before the first error.
        metrics.start_counters_at_zero()
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            # Live gauges (pool size) of a process that exits must stop counting.
            atexit.register(multiprocess.mark_process_dead, os.getpid())
