from __future__ import annotations

import pytest
from django.conf import settings
from django.core.management.base import CommandError
from django.db import connection

from faq.dbcheck import ensure_extension

pytestmark = pytest.mark.django_db


def test_the_vector_extension_is_installed_and_answers_cosine_distance():
    with connection.cursor() as cursor:
        cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        (version,) = cursor.fetchone()
        cursor.execute("SELECT '[1,0,0]'::vector <=> '[0,1,0]'::vector")
        (distance,) = cursor.fetchone()
    major, minor = (int(part) for part in version.split(".")[:2])
    assert (major, minor) >= (0, 8), "iterative index scans need pgvector 0.8"
    assert distance == pytest.approx(1.0)


def test_every_pooled_connection_enables_iterative_hnsw_scans():
    with connection.cursor() as cursor:
        cursor.execute("SHOW hnsw.iterative_scan")
        assert cursor.fetchone()[0] == "relaxed_order"


def test_the_connection_pool_follows_the_original_design_sizes():
    pool = settings.DATABASES["default"]["OPTIONS"]["pool"]
    assert (pool["min_size"], pool["max_size"]) == (5, 20)
    connection.ensure_connection()
    stats = connection.pool.get_stats()
    assert stats["pool_max"] == 20
    assert stats["pool_min"] == 5


def test_a_server_without_the_extension_gets_install_instructions_not_a_traceback():
    # The same check the first migration runs, asked for an extension this server lacks.
    with pytest.raises(CommandError) as excinfo:
        ensure_extension(connection, name="vector_not_installed_here")
    message = str(excinfo.value)
    assert "does not have the pgvector extension" in message
    assert "pgvector/pgvector:pg17" in message
    assert "unset DATABASE_URL" in message
