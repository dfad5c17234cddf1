"""Read replicas: every write, and every read that must be fresh, on the primary ("default");
read-only work on a replica.

DATABASE_REPLICA_URLS adds the entries `replica1`, `replica2`, ... (settings.DATABASE_REPLICAS).
A read goes to a replica only inside a replica scope, and only when nothing below says otherwise:

- scopes: an HTTP request that reads the shared catalogue (GET and HEAD pages outside the admin,
  the search and recommendation APIs; ReplicaReadsMiddleware) and a question asked over the
  websocket. Outside a scope (management commands, the shell, start-up) everything reads the
  primary: `import_faqs` upserts by what it reads, and must not act on a lagging copy;
- identity and sessions (auth, sessions, contenttypes, admin log, API tokens) always read the
  primary, so a sign-in is known to the very next request, wherever it lands;
- once a scope has written anything (a question's history row, an article view), the rest of it
  reads the primary: it may read what it wrote;
- reads inside a transaction on the primary stay on it;
- `primary()` blocks: reads of the caller's own rows, which must show what they did a moment ago
  (their questions on the dashboard, the history recommendations start from, the answer they rate).

One replica is drawn at random per scope, so a page is read from one consistent copy. Replicas
are kept in step by PostgreSQL's replication, never migrated by Django.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

# Small, per-request and needed fresh right after they change: never read from a replica.
PRIMARY_ONLY_APPS = frozenset({"auth", "sessions", "contenttypes", "admin", "supportsite"})


@dataclass
class _Scope:
    replica: str  # drawn once per scope
    wrote: bool = False


# A mutable object in the context variable: threads that sync_to_async starts copy the context,
# and a write seen there must still pin the request that started them.
_scope: ContextVar[_Scope | None] = ContextVar("replica_scope", default=None)
_primary: ContextVar[bool] = ContextVar("primary_reads", default=False)


def replicas() -> list[str]:
    return list(getattr(settings, "DATABASE_REPLICAS", ()))


@contextmanager
def replica_reads() -> Iterator[None]:
    """Let reads in this block go to one replica (a no-op without replicas)."""
    available = replicas()
    token = _scope.set(_Scope(random.choice(available)) if available else None)  # noqa: S311 - load spreading
    try:
        yield
    finally:
        _scope.reset(token)


@contextmanager
def primary() -> Iterator[None]:
    """Reads in this block see the latest writes: the caller's own rows."""
    token = _primary.set(True)
    try:
        yield
    finally:
        _primary.reset(token)


def read_alias(model) -> str:
    """The database a read of `model` goes to now (for raw SQL, which no router sees)."""
    return PrimaryReplicaRouter().db_for_read(model)


class PrimaryReplicaRouter:
    def db_for_read(self, model, **hints) -> str:
        scope = _scope.get()
        if (
            scope is None
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
    # POSTs that only read the catalogue (and append one history row, after reading).
    READ_POSTS = frozenset({"/api/ai_faq_search", "/api/recommendations"})

    def __init__(self, get_response) -> None:
        from asgiref.sync import iscoroutinefunction, markcoroutinefunction

        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def _wants_replica(self, request) -> bool:
        if not replicas() or request.path.startswith("/admin/"):
            # Staff read back what they just edited in the admin.
            return False
        return request.method in ("GET", "HEAD") or (request.method == "POST" and request.path in self.READ_POSTS)

    def __call__(self, request):
        if self.is_async:
            return self.__acall__(request)
        if not self._wants_replica(request):
            return self.get_response(request)
        with replica_reads():
            return self.get_response(request)

    async def __acall__(self, request):
        if not self._wants_replica(request):
            return await self.get_response(request)
        with replica_reads():
            return await self.get_response(request)
