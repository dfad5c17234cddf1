"""A version number for what search reads (faq/result_cache.py), kept by PostgreSQL itself.

Any change to articles, categories or known phrasings (the ORM, a bulk update, raw SQL, another
process) bumps it once per transaction, at commit: the triggers are deferred, so the new number
becomes visible together with the change, and the one-row UPDATE is taken last (no lock held
across the transaction, so two writers cannot deadlock on it). The table is not a model: a test
flush never empties it."""

from django.db import migrations

TABLES = ("faq_documents", "faq_category", "faq_knownphrasing")

FORWARD = [
    """CREATE TABLE faq_catalogue_version (
        id smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),
        version bigint NOT NULL DEFAULT 0,
        last_xact xid8
    )""",
    "INSERT INTO faq_catalogue_version (id, version) VALUES (1, 0)",
    """CREATE FUNCTION faq_bump_catalogue_version() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        -- Once per transaction: later rows of the same transaction find it bumped already.
        UPDATE faq_catalogue_version SET version = version + 1, last_xact = pg_current_xact_id()
        WHERE last_xact IS DISTINCT FROM pg_current_xact_id();
        RETURN NULL;
    END $$""",
]
for table in TABLES:
    FORWARD += [
        f"""CREATE CONSTRAINT TRIGGER {table}_catalogue_version
            AFTER INSERT OR UPDATE OR DELETE ON {table}
            DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION faq_bump_catalogue_version()""",
        f"""CREATE TRIGGER {table}_catalogue_truncated AFTER TRUNCATE ON {table}
            FOR EACH STATEMENT EXECUTE FUNCTION faq_bump_catalogue_version()""",
    ]

BACKWARD = [
    *(f"DROP TRIGGER IF EXISTS {table}_catalogue_version ON {table}" for table in TABLES),
    *(f"DROP TRIGGER IF EXISTS {table}_catalogue_truncated ON {table}" for table in TABLES),
    "DROP FUNCTION IF EXISTS faq_bump_catalogue_version()",
    "DROP TABLE IF EXISTS faq_catalogue_version",
]


class Migration(migrations.Migration):
    dependencies = [("faq", "0010_history_remembers_near_ties")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
