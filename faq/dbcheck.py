"""Checks on the database server that turn a missing pgvector into instructions, not a traceback."""

from __future__ import annotations

from django.core.management.base import CommandError

PGVECTOR_HELP = (
    "The PostgreSQL server at DATABASE_URL does not have the pgvector extension ({name!r}) installed.\n"
    "Install it on the database server, then run `python manage.py migrate` again:\n"
    "  Debian/Ubuntu: apt install postgresql-<major version>-pgvector\n"
    "  Docker:        use the pgvector/pgvector:pg17 image (docker-compose.yml does)\n"
    "  Managed (RDS, Cloud SQL, Azure, Supabase, Neon): enable the 'vector' extension in the console\n"
    "  From source:   https://github.com/pgvector/pgvector#installation\n"
    "Or unset DATABASE_URL to use the embedded PostgreSQL that ships pgvector."
)


def ensure_extension(connection, name: str = "vector") -> None:
    """Create the extension, or stop with installation instructions when the server lacks it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = %s", [name])
        if cursor.fetchone() is None:
            raise CommandError(PGVECTOR_HELP.format(name=name))
        cursor.execute(f'CREATE EXTENSION IF NOT EXISTS "{name}"')
