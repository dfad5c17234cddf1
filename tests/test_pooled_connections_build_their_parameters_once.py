"""Each request takes a connection from the pool and gives it back (supportsite/postgresql/base.py):
the connection parameters, which only a new pool reads, are built once per pool, not at every
connect, and statements are still counted by django-prometheus."""

from __future__ import annotations

import pytest
from django.db import connection
from django_prometheus.db.backends.postgresql import base
from django_prometheus.db.metrics import execute_total


def _executed() -> float:
    return execute_total.labels(connection.alias, connection.vendor)._value.get()


@pytest.mark.django_db(transaction=True)
def test_connections_from_the_pool_reuse_the_parameters_and_are_still_counted(monkeypatch):
    assert connection.settings_dict["ENGINE"] == "supportsite.postgresql"
    assert connection.pool is not None
    built = []
    original = base.DatabaseWrapper.get_connection_params
    monkeypatch.setattr(base.DatabaseWrapper, "get_connection_params", lambda self: built.append(1) or original(self))
    before = _executed()
    for _ in range(5):
        connection.close()  # as each request ends: back to the pool
        with connection.cursor() as cursor:  # as the next one starts
            cursor.execute("SELECT 1")
            assert cursor.fetchone() == (1,)
    assert len(built) <= 1  # at most once, for this wrapper's first connect since the pool was made
    assert _executed() - before == 5


@pytest.mark.django_db(transaction=True)
def test_a_new_pool_gets_parameters_of_its_own(monkeypatch):
    connection.close()
    connection.close_pool()
    built = []
    original = base.DatabaseWrapper.get_connection_params
    monkeypatch.setattr(base.DatabaseWrapper, "get_connection_params", lambda self: built.append(1) or original(self))
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    assert len(built) == 2  # the new pool's, then this wrapper's for the pool it now uses
    connection.close()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    assert len(built) == 2
