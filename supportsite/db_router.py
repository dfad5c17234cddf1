"""Read replicas: every write, and every read that must be fresh, on the primary ("default");
read-only work on a replica.

DATABASE_REPLICA_URLS adds the entries `replica1`, `replica2`, ... (settings.DATABASE_REPLICAS).
A read goes to a replica only inside a replica scope, and only when nothing below says otherwise:

- scopes: an HTTP request that reads the shared catalogue (GET and HEAD pages outside the admin,
  and the POST views an app marks with `@reads_catalogue`, such as the search and recommendation
  APIs; ReplicaReadsMiddleware) and a question asked over the websocket. Outside a scope
  (management commands, the shell, start-up) everything reads the primary: `import_faqs` upserts
  by what it reads, and must not act on a lagging copy;
- identity and sessions (auth, sessions, contenttypes, admin log, API tokens) always read the
  primary, so a sign-in is known to the very next request, wherever it lands;
- once a scope has written anything (a question's history row, an article view), the rest of it
  reads the primary: it may read what it wrote;
- reads inside a transaction on the primary stay on it;
- `primary()` blocks: reads of the caller's own rows, which must show what they did a moment ago
  (their questions on the dashboard, the history recommendations start from, the answer they rate).

One replica is drawn at random per scope, so a page is read from one consistent copy. Replicas
are kept in step by PostgreSQL's replication, never migrated by Django.

A replica that fails is left out, and its reads go to the primary, until a probe in the background
reaches it again (every REPLICA_RETRY_SECONDS). The request that found it down is not lost: when
the failure happened before the request wrote anything, ReplicaReadsMiddleware runs it again on
the primary (and the websocket consumer does the same for a question).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import wraps

from asgiref.sync import iscoroutinefunction
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

logger = logging.getLogger(__name__)

# Small, per-request and needed fresh right after they change: never read from a replica.
PRIMARY_ONLY_APPS = frozenset({"auth", "sessions", "contenttypes", "admin", "supportsite"})


@dataclass
class _Scope:
    replica: str  # drawn once per scope
    # A POST's scope waits for its view to say it only reads the catalogue (@reads_catalogue).
    active: bool = True
    wrote: bool = False
    failed: bool = False  # the replica turned out to be down during this scope


# A mutable object in the context variable: threads that sync_to_async starts copy the context,
# and a write seen there must still pin the request that started them.
_scope: ContextVar[_Scope | None] = ContextVar("replica_scope", default=None)
_primary: ContextVar[bool] = ContextVar("primary_reads", default=False)


def replicas() -> list[str]:
    return list(getattr(settings, "DATABASE_REPLICAS", ()))


class _Health:
    """Which replicas this process leaves out, and the background probes that bring them back."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._down: dict[str, float] = {}  # alias -> when to probe it next
        self._probing: set[str] = set()

    def usable(self, alias: str) -> bool:
        with self._lock:
            retry_at = self._down.get(alias)
            if retry_at is None:
                return True
            if time.monotonic() >= retry_at and alias not in self._probing:
                self._probing.add(alias)
                threading.Thread(target=self._probe, args=(alias,), name=f"probe-{alias}", daemon=True).start()
        return False

    def mark_down(self, alias: str, exc: BaseException) -> None:
        with self._lock:
            known = alias in self._down
            self._down[alias] = time.monotonic() + settings.REPLICA_RETRY_SECONDS
        if not known:
            from supportsite import metrics

            metrics.REPLICA_DOWN.labels(database=alias).set(1)
            logger.warning("read replica %s is down (%s): its reads go to the primary", alias, exc)
            # Its pooled connections died with it: a fresh pool is made when it is used again.
            try:
                connections[alias].close_pool()
            except Exception as close_error:  # closed already by another thread, or never opened
                logger.debug("closing the pool of %s: %s", alias, close_error)

    def is_down(self, alias: str) -> bool:
        with self._lock:
            return alias in self._down

    def _probe(self, alias: str) -> None:
        try:
            reachable(alias)
        except Exception as exc:  # still down: try again later
            self.mark_down(alias, exc)
        else:
            from supportsite import metrics

            with self._lock:
                self._down.pop(alias, None)
            metrics.REPLICA_DOWN.labels(database=alias).set(0)
            logger.warning("read replica %s is back: reads go to it again", alias)
        finally:
            with self._lock:
                self._probing.discard(alias)


health = _Health()


def reachable(alias: str) -> None:
    """Raise unless a new connection to `alias` answers within a second or two (not from its pool,
    which may hold connections that broke with the server)."""
    import psycopg

    # Django's own parameters for this alias (host, credentials, sslmode and other OPTIONS).
    params = {**connections[alias].get_connection_params(), "connect_timeout": 2, "autocommit": True}
    with psycopg.connect(**params) as probe:
        probe.execute("SELECT 1")


@contextmanager
def replica_reads(*, active: bool = True) -> Iterator[_Scope | None]:
    """Let reads in this block go to one replica (a no-op without replicas, or with all of them down).

    An inactive scope reads the primary until `reads_catalogue` wakes it."""
    available = [alias for alias in replicas() if health.usable(alias)]
    scope = _Scope(random.choice(available), active=active) if available else None  # noqa: S311 - load spreading
    token = _scope.set(scope)
    try:
        yield scope
    finally:
        _scope.reset(token)


def replica_failed(exc: BaseException) -> bool:
    """After a database error in a replica scope: was the scope's replica the one down? If so it is
    left out (see _Health) and True tells the caller that it may run its work again on the
    primary, which is safe when nothing was written yet (`scope.wrote`)."""
    from supportsite.middleware import DATABASE_OUTAGES

    scope = _scope.get()
    if scope is None or not scope.active or not isinstance(exc, DATABASE_OUTAGES):
        return False
    try:
        reachable(scope.replica)
    except Exception as probe_error:
        health.mark_down(scope.replica, probe_error)
        scope.failed = True
        return True
    return False  # the replica answers: the failure was elsewhere (the primary, a full pool)


@contextmanager
def primary() -> Iterator[None]:
    """Reads in this block see the latest writes: the caller's own rows."""
    token = _primary.set(True)
    try:
        yield
    finally:
        _primary.reset(token)


def reads_catalogue(view: Callable) -> Callable:
    """Marks a POST view (or, through ninja's `decorate_view`, an API operation) that only reads the
    catalogue and appends history after reading: its request may read from a replica. Apps declare
    this on their own views, so the router needs no list of their URLs."""

    def wake() -> None:
        scope = _scope.get()
        if scope is not None:
            scope.active = True

    if iscoroutinefunction(view):

        @wraps(view)
        async def run_async(request, *args, **kwargs):
            wake()
            return await view(request, *args, **kwargs)

        return run_async

    @wraps(view)
    def run(request, *args, **kwargs):
        wake()
        return view(request, *args, **kwargs)

    return run


def read_alias(model) -> str:
    """The database a read of `model` goes to now (for raw SQL, which no router sees)."""
    return PrimaryReplicaRouter().db_for_read(model)


class PrimaryReplicaRouter:
    def db_for_read(self, model, **hints) -> str:
        scope = _scope.get()
        if (
            scope is None
            or not scope.active
            or scope.wrote
            or _primary.get()
            or model._meta.app_label in PRIMARY_ONLY_APPS
            or connections[DEFAULT_DB_ALIAS].in_atomic_block
        ):
            return DEFAULT_DB_ALIAS
        return scope.replica

    def db_for_write(self, model, **hints) -> str:
        scope = _scope.get()
        if scope is not None:
            scope.wrote = True
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints) -> bool | None:
        # Replicas hold the primary's rows: an article read from one may be linked to a new row.
        ours = {DEFAULT_DB_ALIAS, *replicas()}
        return True if obj1._state.db in ours and obj2._state.db in ours else None

    def allow_migrate(self, db: str, app_label: str, **hints) -> bool:
        # Replication copies the schema; running migrations on a read-only standby would fail.
        return db == DEFAULT_DB_ALIAS


class ReplicaReadsMiddleware:
    """Opens a replica scope for requests that read the shared catalogue (see the module doc)."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response) -> None:
        from asgiref.sync import markcoroutinefunction

        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def _wants_replica(self, request) -> bool | None:
        """True: read a replica; None: only if the view is marked @reads_catalogue; False: never."""
        if not replicas() or request.path.startswith("/admin/"):
            # Staff read back what they just edited in the admin.
            return False
        if request.method in ("GET", "HEAD"):
            return True
        return None if request.method == "POST" else False

    def __call__(self, request):
        if self.is_async:
            return self.__acall__(request)
        wanted = self._wants_replica(request)
        if wanted is False:
            return self.get_response(request)
        with replica_reads(active=bool(wanted)) as scope:
            response = self.get_response(request)
        if self._again_on_the_primary(scope):
            return self.get_response(request)
        return response

    async def __acall__(self, request):
        wanted = self._wants_replica(request)
        if wanted is False:
            return await self.get_response(request)
        with replica_reads(active=bool(wanted)) as scope:
            response = await self.get_response(request)
        if self._again_on_the_primary(scope):
            return await self.get_response(request)
        return response

    @staticmethod
    def _again_on_the_primary(scope: _Scope | None) -> bool:
        # The replica was found down (process_exception) before the request wrote anything: the
        # error response is dropped and the request runs once more, outside any replica scope.
        return scope is not None and scope.failed and not scope.wrote

    def process_exception(self, request, exception):
        replica_failed(exception)
        return None  # DatabaseUnavailableMiddleware answers 503 if the request is not run again
