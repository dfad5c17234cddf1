"""Before the first `migrate`: refuse a schema that already holds tables or types of the same names
as ours that our migrations did not make (the original design's `faq_documents`, `user_responses`
and enum `faq_category`, or any other application's), instead of failing half-way with
`type "faq_category" already exists` and a traceback."""

from __future__ import annotations

from django.apps import apps
from django.db.migrations.recorder import MigrationRecorder

_KINDS = {"r": "table", "p": "table", "v": "view", "m": "materialized view", "f": "foreign table", "S": "sequence"}
_TYPES = {"e": "enum type", "d": "domain", "c": "composite type", "b": "type", "r": "range type", "m": "type"}

HELP = (
    "The database at DATABASE_URL already holds {clashes} in schema {schema!r}, and supportsite's "
    "migrations were never applied to it: these are another application's (the original FastAPI design "
    "uses the same table names), and migrate would fail on them. Nothing was changed.\n"
    "Either:\n"
    "  - point DATABASE_URL at an empty database (CREATE DATABASE supportsite;), or\n"
    "  - keep supportsite in a schema of its own in this database: CREATE SCHEMA supportsite; then add\n"
    "    ?options=-c%20search_path%3Dsupportsite,public to DATABASE_URL (public: where the vector extension lives)\n"
    "and run migrate again. To move the old stack's articles across, export them as JSON Lines "
    "(question, answer, category) and use `python manage.py import_faqs`."
)


def _unmigrated_tables(connection) -> set[str]:
    """Table names of every installed app none of whose migrations are recorded as applied here."""
    recorder = MigrationRecorder(connection)
    applied = {app for app, _ in recorder.applied_migrations()} if recorder.has_table() else set()
    return {
        model._meta.db_table
        for config in apps.get_app_configs()
        if config.label not in applied
        for model in config.get_models(include_auto_created=True)
        if model._meta.managed and not model._meta.proxy
    }


def clashes(connection) -> tuple[str, list[str]]:
    """(the schema migrate would create tables in, a description of each object in the way)."""
    names = sorted(_unmigrated_tables(connection))
    found: list[str] = []
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        schema = cursor.fetchone()[0]
        if schema is None or not names:
            return schema or "", found
        cursor.execute(
            "SELECT c.relname, c.relkind, string_agg(a.attname, ', ' ORDER BY a.attnum)"
            " FROM pg_class c LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
            " WHERE c.relnamespace = current_schema()::regnamespace AND c.relname = ANY(%s)"
            " GROUP BY c.relname, c.relkind ORDER BY c.relname",
            [names],
        )
        for name, kind, columns in cursor.fetchall():
            what = _KINDS.get(kind, "relation")
            found.append(f'{what} "{name}"' + (f" (columns: {columns})" if columns and kind != "S" else ""))
        # A table's name is also taken by its row type: a type of that name alone blocks CREATE TABLE.
        cursor.execute(
            "SELECT t.typname, t.typtype FROM pg_type t WHERE t.typnamespace = current_schema()::regnamespace"
            " AND t.typname = ANY(%s) AND t.typrelid = 0 ORDER BY t.typname",
            [names],
        )
        found += [f'{_TYPES.get(kind, "type")} "{name}"' for name, kind in cursor.fetchall()]
    return schema, found


def check(connection) -> str | None:
    """The message to stop with, or None when migrate may go ahead."""
    schema, found = clashes(connection)
    return HELP.format(clashes=", ".join(found), schema=schema) if found else None
