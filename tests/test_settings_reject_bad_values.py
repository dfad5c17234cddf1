from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from supportsite import env
from tests.conftest import ROOT


@pytest.mark.parametrize(
    ("reader", "value", "fragment"),
    [
        (lambda: env.env_int("DB_POOL_MAX", 20, minimum=1), "many", "DB_POOL_MAX must be a whole number"),
        (lambda: env.env_int("DB_POOL_MAX", 20, minimum=1), "0", "DB_POOL_MAX must be at least 1"),
        (lambda: env.env_bool("DEBUG"), "perhaps", "DEBUG must be true or false"),
        (lambda: env.env_float("AI_TIMEOUT", 15.0, minimum=0.1), "soon", "AI_TIMEOUT must be a number"),
        (
            lambda: env.env_str("EMBEDDING_BACKEND", "local", choices=("local", "openai")),
            "torch",
            "EMBEDDING_BACKEND must be one of local, openai",
        ),
    ],
)
def test_each_typed_reader_names_the_variable_it_rejects(monkeypatch, reader, value, fragment):
    name = fragment.split()[0]
    monkeypatch.setenv(name, value)
    with pytest.raises(ImproperlyConfigured, match=fragment):
        reader()


def test_readers_return_typed_defaults_when_unset(monkeypatch):
    monkeypatch.delenv("SUPPORTSITE_UNSET", raising=False)
    assert env.env_int("SUPPORTSITE_UNSET", 5) == 5
    assert env.env_bool("SUPPORTSITE_UNSET", True) is True
    assert env.env_list("SUPPORTSITE_UNSET", ["a"]) == ["a"]


def test_database_url_with_a_socket_directory_becomes_a_django_entry():
    entry = env.database_from_url("postgresql://postgres:@/postgres?host=/tmp/pg&sslmode=disable")
    assert entry["NAME"] == "postgres"
    assert entry["HOST"] == "/tmp/pg"
    assert entry["OPTIONS"] == {"sslmode": "disable"}


def test_a_non_postgres_database_url_is_refused():
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL must start with postgresql://"):
        env.database_from_url("mysql://root@localhost/db")


def _manage(tmp_path, **overrides: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG", "DATABASE_URL"}}
    environ.update({"DATA_DIR": str(tmp_path), **overrides})
    return subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=120
    )


def test_manage_py_refuses_to_start_without_secret_key_when_debug_is_off(tmp_path):
    result = _manage(tmp_path, DEBUG="false")
    assert result.returncode == 2
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr
    assert "Traceback" not in result.stderr


def test_manage_py_names_a_bad_pool_size_without_a_traceback(tmp_path):
    result = _manage(tmp_path, SECRET_KEY="x", DATABASE_URL="postgresql://u@127.0.0.1:1/db", DB_POOL_MAX="lots")
    assert result.returncode == 2
    assert "DB_POOL_MAX must be a whole number; got 'lots'" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"EMAIL_USE_TLS": "true", "EMAIL_USE_SSL": "true"}, "EMAIL_USE_TLS and EMAIL_USE_SSL are alternatives"),
        ({"EMAIL_PORT": "smtp"}, "EMAIL_PORT must be a whole number"),
        ({"RATE_LIMIT_PASSWORD_RESETS": "lots"}, "RATE_LIMIT_PASSWORD_RESETS"),
    ],
)
def test_manage_py_names_bad_email_settings_without_a_traceback(tmp_path, overrides, message):
    result = _manage(tmp_path, SECRET_KEY="x", DATABASE_URL="postgresql://u@127.0.0.1:1/db", **overrides)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
