"""`migrate` (and so `make run` and the image) pointed at a database that already holds the original
design's tables stops with a message naming them and the way out, exits non-zero with no traceback,
and changes nothing; in a schema of its own on that database (search_path) it migrates."""

from __future__ import annotations

import os
import subprocess
import sys
from urllib.parse import quote

import psycopg
import pytest
from django.db import connection

from supportsite.env import database_url
from tests.conftest import ROOT

ORIGINAL_SCHEMA = """
CREATE EXTENSION IF NOT EXISTS vector;
CREATE TYPE faq_category AS ENUM ('account', 'billing', 'technical');
CREATE TABLE faq_documents (
    id SERIAL PRIMARY KEY,
    content TEXT NOT NULL,
    embedding vector(1536),
    category faq_category,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE user_responses (
    id SERIAL PRIMARY KEY,
    user_id INTEGER NOT NULL,
    query TEXT NOT NULL,
    response TEXT NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP
);
INSERT INTO faq_documents (content, category) VALUES ('How do I reset my password?', 'account');
INSERT INTO user_responses (user_id, query, response) VALUES (7, 'reset password', 'See the article.');
"""


@pytest.fixture
def original_database(django_db_setup, django_db_blocker):
    """A second real database holding the original design's schema and a row in each table."""
    with django_db_blocker.unblock():
        entry = dict(connection.settings_dict)
    name = f"{entry['NAME']}_original"
    admin = database_url({**entry, "NAME": "postgres"})
    with psycopg.connect(admin, autocommit=True) as server:
        server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        server.execute(f'CREATE DATABASE "{name}"')
    url = database_url({**entry, "NAME": name})
    with psycopg.connect(url, autocommit=True) as db:
        db.execute(ORIGINAL_SCHEMA)
    try:
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as server:
            server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _migrate(url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "x", "LOG_LEVEL": "WARNING"}
    return subprocess.run(
        [sys.executable, "manage.py", "migrate", "--verbosity", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _original_state(url: str) -> tuple:
    with psycopg.connect(url) as db:
        return (
            db.execute("SELECT id, content, category::text FROM public.faq_documents").fetchall(),
            db.execute("SELECT id, user_id, query FROM public.user_responses").fetchall(),
            db.execute("SELECT enum_range(NULL::public.faq_category)::text").fetchone(),
            db.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone(),
        )


def test_migrate_names_the_clashing_tables_and_type_and_changes_nothing(original_database):
    before = _original_state(original_database)
    result = _migrate(original_database)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Traceback" not in output, output
    for clash in ('table "faq_documents" (columns: id, content, embedding', 'table "user_responses"'):
        assert clash in output, output
    assert 'enum type "faq_category"' in output, output
    assert "empty database" in output and "search_path" in output, output
    assert _original_state(original_database) == before, "the original design's rows and tables are untouched"


def test_in_a_schema_of_its_own_on_the_same_database_migrate_succeeds(original_database):
    before = _original_state(original_database)
    with psycopg.connect(original_database, autocommit=True) as db:
        db.execute("CREATE SCHEMA supportsite")
    separator = "&" if "?" in original_database else "?"
    url = f"{original_database}{separator}options={quote('-c search_path=supportsite,public', safe='')}"
    result = _migrate(url)
    assert result.returncode == 0, result.stdout + result.stderr
    with psycopg.connect(original_database) as db:
        ours = db.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'supportsite'"
            " AND table_name = 'faq_documents'"
        ).fetchall()
    assert ("slug",) in ours, "supportsite's own faq_documents is in its schema"
    assert _original_state(original_database) == before


def test_serve_as_make_run_and_the_image_run_it_stops_the_same_way(original_database):
    env = {**os.environ, "DATABASE_URL": original_database, "SECRET_KEY": "x", "LOG_LEVEL": "WARNING"}
    result = subprocess.run(
        [sys.executable, "manage.py", "serve", "--port", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "Traceback" not in output, output
    assert 'enum type "faq_category"' in output and "search_path" in output, output
