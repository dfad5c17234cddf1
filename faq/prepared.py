"""The statements every new question runs, sent server-side bound and prepared.

Django's psycopg cursors bind client-side: every value is pasted into the SQL text, so the query
vector's 384 floats were rendered as text for each statement, and PostgreSQL parsed them wherever
they appeared and planned the whole statement again for every question. The nearest-neighbour
search (faq/search.py) and the history row (faq/answers.py) instead run on `cursor()`: the same
pooled connection, psycopg's server-side binding, the vector sent once in pgvector's binary form,
and (DB_PREPARED_STATEMENTS) the statement prepared once per connection, so PostgreSQL re-uses
its parse and plan. Django's cursor wrapper still runs around it: the execute wrappers (the query
time metric and DB_ERRORS, supportsite/metrics.py), its error classes (a dropped connection is an
OperationalError, as the 503 middleware expects) and its query log.

The SQL is still what the ORM compiles (`server_side_sql` converts it), so the visibility
QuerySet alone decides what a statement may return.
"""

from __future__ import annotations

import contextlib
import re
import weakref
from collections.abc import Mapping, Sequence

from django.conf import settings
from django.db.backends.postgresql.base import CursorDebugWrapper, ServerBindingCursor
from django.db.backends.postgresql.psycopg_any import register_tzloader
from psycopg import errors, pq, sql
from psycopg.adapt import Dumper

from faq.embeddings import QueryVector

_TIMESTAMPTZ_OID = 1184
_PLACEHOLDER = re.compile(r"%%|%s")


class VectorParameter:
    """A vector as a statement parameter: pgvector's binary form, sent as it is (see cursor())."""

    __slots__ = ("vector",)

    def __init__(self, vector: Sequence[float]) -> None:
        self.vector = vector if isinstance(vector, QueryVector) else QueryVector(vector)


class _VectorDumper(Dumper):
    # Only for the text of a statement in Django's query log (DEBUG, tests): never sent this way.
    format = pq.Format.TEXT

    def dump(self, obj: VectorParameter) -> bytes:
        return obj.vector.literal.encode()


class _VectorBinaryDumper(Dumper):
    # OID 0: each placeholder is cast (`::vector`), so PostgreSQL knows the type without a look-up
    # of the extension's OID on every new connection.
    format = pq.Format.BINARY

    def dump(self, obj: VectorParameter) -> bytes:
        return obj.vector.binary


# Raw connections that know VectorParameter (pooled connections are re-used many times).
_adapted: weakref.WeakSet = weakref.WeakSet()


def _adapt(raw) -> None:
    if raw not in _adapted:
        # Registered last, the binary dumper is the one `%s` placeholders use.
        raw.adapters.register_dumper(VectorParameter, _VectorDumper)
        raw.adapters.register_dumper(VectorParameter, _VectorBinaryDumper)
        _adapted.add(raw)


class _PreparedCursor(ServerBindingCursor):
    """Django's own server-side binding cursor, which prepares what it runs (Django's cursor
    wrapper calls execute(sql, params) and has no way to ask)."""

    def execute(self, query, params=None, *, prepare=None, binary=None):
        if prepare is None:
            prepare = settings.DB_PREPARED_STATEMENTS
        return super().execute(query, params, prepare=prepare, binary=binary)


class _DebugCursor(CursorDebugWrapper):
    """Django's query log (DEBUG, tests) shows these statements as it shows its own: the SQL text
    with the values in it (Django reads a client-side cursor's, which these are not)."""

    def debug_sql(self, sql=None, params=None, use_last_executed_query=False, many=False):
        if use_last_executed_query:
            with contextlib.suppress(errors.DataError):  # as Django's own last_executed_query
                sql = self.db.ops.compose_sql(sql, params)
        return super().debug_sql(sql, params, use_last_executed_query=False, many=many)


_cursor_classes: dict[str, type] = {}


def _cursor_class(connection) -> type:
    cls = _cursor_classes.get(connection.alias)
    if cls is None:
        from django_prometheus.db.common import DatabaseWrapperMixin, ExportingCursorWrapper

        cls = _PreparedCursor
        if isinstance(connection, DatabaseWrapperMixin):
            # django-prometheus' per-database statement counters, as on every other cursor.
            cls = ExportingCursorWrapper(_PreparedCursor, connection.alias, connection.vendor)
        _cursor_classes[connection.alias] = cls
    return cls


def cursor(connection):
    """A server-side binding cursor on `connection` (a Django database wrapper), wrapped as
    `connection.cursor()` wraps its own: use it the same way (`with cursor(connection) as c:`)."""
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        raw = connection.connection
        _adapt(raw)
        server = _cursor_class(connection)(raw)
        # As Django's create_cursor: a connection whose time zone changed since it was made.
        if raw.adapters.get_loader(_TIMESTAMPTZ_OID, pq.Format.TEXT).timezone != connection.timezone:
            register_tzloader(connection.timezone, server)
        connection.validate_thread_sharing()
        if connection.queries_logged:
            return _DebugCursor(server, connection)
        return connection.make_cursor(server)


def server_side_sql(compiled: str, params: Sequence, slots: Mapping[str, str]) -> str:
    """`compiled` (SQL for Django's client-side cursors, with %s placeholders and `params`) for a
    server-side binding cursor: each parameter equal to a key of `slots` becomes that slot's
    placeholder (e.g. "%(vector)s::vector": a name, so every use of it is one parameter), and every
    other parameter the literal client-side binding sent in its place. Literals, not parameters, so
    that a prepared statement's generic plan sees them: a partial index's predicate (approved
    phrasings only) is proven by a constant, never by a parameter."""
    values = iter(params)

    def replace(match: re.Match) -> str:
        if match[0] == "%%":
            return "%%"
        value = next(values, _PLACEHOLDER)
        if value is _PLACEHOLDER:
            raise ValueError("fewer parameters than placeholders in the compiled statement")
        if isinstance(value, str) and value in slots:
            return slots[value]
        # Quoted by psycopg's default adapters, for the UTF-8 connections Django always makes.
        return sql.Literal(value).as_string(None).replace("%", "%%")

    converted = _PLACEHOLDER.sub(replace, compiled)
    if next(values, _PLACEHOLDER) is not _PLACEHOLDER:
        raise ValueError("more parameters than placeholders in the compiled statement")
    return converted
