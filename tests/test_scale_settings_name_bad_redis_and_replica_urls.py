"""REDIS_URL and DATABASE_REPLICA_URLS are checked at start-up: a bad value stops it (exit 2) with a
message naming the variable, before any request could fail on it."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from supportsite import env
from tests.test_settings_reject_bad_values import _manage


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("localhost:6379", "REDIS_URL must start with redis://, rediss:// or unix://"),
        ("http://redis:6379/0", "REDIS_URL must start with redis://"),
        ("redis://redis:port/0", "REDIS_URL is not a valid Redis URL"),
        ("redis:///0", "REDIS_URL must name a host"),
        ("redis://redis:6379/cache", "REDIS_URL: the database after the host must be a number; got 'cache'"),
        ("unix://", "REDIS_URL must name the socket's path"),
    ],
)
def test_a_bad_redis_url_is_refused_naming_the_variable(monkeypatch, value, fragment):
    monkeypatch.setenv("REDIS_URL", value)
    with pytest.raises(ImproperlyConfigured, match=fragment):
        env.env_redis_url("REDIS_URL")


@pytest.mark.parametrize(
    "value", ["redis://redis:6379/0", "rediss://:secret@cache.example.com:6380/2", "unix:///run/redis.sock"]
)
def test_good_redis_urls_are_kept_as_given(monkeypatch, value):
    monkeypatch.setenv("REDIS_URL", value)
    assert env.env_redis_url("REDIS_URL") == value


def test_replica_urls_become_database_entries(monkeypatch):
    monkeypatch.setenv("DATABASE_REPLICA_URLS", "postgresql://ro@standby-1:5432/help, postgresql://ro@standby-2/help")
    first, second = env.database_urls("DATABASE_REPLICA_URLS")
    assert (first["HOST"], first["PORT"], first["NAME"], first["USER"]) == ("standby-1", "5432", "help", "ro")
    assert second["HOST"] == "standby-2"


def test_manage_py_names_a_bad_redis_url_without_a_traceback(tmp_path):
    result = _manage(tmp_path, SECRET_KEY="x", DATABASE_URL="postgresql://u@127.0.0.1:1/db", REDIS_URL="redis:/x")
    assert result.returncode == 2
    assert "REDIS_URL must name a host" in result.stderr
    assert "Traceback" not in result.stderr


def test_manage_py_names_a_bad_replica_url_without_a_traceback(tmp_path):
    result = _manage(
        tmp_path,
        SECRET_KEY="x",
        DATABASE_URL="postgresql://u@127.0.0.1:1/db",
        DATABASE_REPLICA_URLS="mysql://ro@standby/help",
    )
    assert result.returncode == 2
    assert "DATABASE_REPLICA_URLS must start with postgresql://" in result.stderr
    assert "Traceback" not in result.stderr
