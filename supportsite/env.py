"""Typed readers for environment variables: a bad value stops start-up with a message naming it."""

from __future__ import annotations

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _raw(name: str) -> str | None:
    value = os.environ.get(name)
    return None if value is None else value.strip()


def env_str(name: str, default: str = "", *, choices: tuple[str, ...] | None = None) -> str:
    value = _raw(name)
    value = default if value is None or value == "" else value
    if choices is not None and value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}; got {value!r}.")
    return value


def env_bool(name: str, default: bool = False) -> bool:
    value = _raw(name)
    if value is None:
        return default
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false (1/0, yes/no, on/off); got {value!r}.")


def env_int(name: str, default: int, *, minimum: int | None = None, maximum: int | None = None) -> int:
    value = _raw(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number; got {value!r}.") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}; got {number}.")
    if maximum is not None and number > maximum:
        raise ImproperlyConfigured(f"{name} must be at most {maximum}; got {number}.")
    return number


def env_float(name: str, default: float, *, minimum: float | None = None, maximum: float | None = None) -> float:
    value = _raw(name)
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number; got {value!r}.") from None
    if number != number or (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        raise ImproperlyConfigured(f"{name} must be between {minimum} and {maximum}; got {value!r}.")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    value = _raw(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def env_path(name: str, default: Path) -> Path:
    value = _raw(name)
    return (Path(value) if value else default).expanduser().resolve()


def database_from_url(url: str, *, name: str = "DATABASE_URL") -> dict[str, object]:
    """Turn a postgres:// URL (TCP or ?host=/socket/dir) into a Django DATABASES entry."""
    from psycopg import conninfo

    if not url.startswith(("postgres://", "postgresql://")):
        raise ImproperlyConfigured(f"{name} must start with postgresql:// (got {url.split(':', 1)[0]!r}).")
    try:
        params = conninfo.conninfo_to_dict(url)
    except Exception as exc:
        raise ImproperlyConfigured(f"{name} is not a valid PostgreSQL URL: {exc}") from None
    return {
        "NAME": params.pop("dbname", "postgres"),
        "USER": params.pop("user", ""),
        "PASSWORD": params.pop("password", ""),
        "HOST": params.pop("host", ""),
        "PORT": str(params.pop("port", "")),
        "OPTIONS": params,
    }


def env_networks(name: str, default: list[str]) -> list:
    """Comma-separated CIDRs (e.g. 10.0.0.0/8,::1/128) as ipaddress networks."""
    import ipaddress

    networks = []
    for item in env_list(name, default):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ImproperlyConfigured(f"{name} must list networks like 10.0.0.0/8; {item!r} is not one.") from None
    return networks


def database_url(entry: dict) -> str:
    """The postgresql:// URL of a Django DATABASES entry (TCP or unix socket): database_from_url's inverse."""
    from urllib.parse import quote

    user = quote(entry.get("USER") or "", safe="")
    password = quote(entry.get("PASSWORD") or "", safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host, port, name = entry.get("HOST") or "", str(entry.get("PORT") or ""), quote(entry["NAME"])
    if host.startswith("/"):
        return f"postgresql://{auth}/{name}?host={quote(host)}" + (f"&port={port}" if port else "")
    return f"postgresql://{auth}{host}{':' + port if port else ''}/{name}"


def env_redis_url(name: str) -> str:
    """A redis://, rediss:// or unix:// URL ("" when unset), checked here so a typo stops start-up
    instead of failing at the first request."""
    from urllib.parse import urlsplit

    value = env_str(name)
    if not value:
        return ""
    try:
        parts = urlsplit(value)
        _ = parts.port  # raises ValueError when not a number in 0..65535
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} is not a valid Redis URL: {exc}.") from None
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise ImproperlyConfigured(
            f"{name} must start with redis://, rediss:// or unix:// (got {value.split(':', 1)[0]!r})."
        )
    if parts.scheme == "unix" and not parts.path:
        raise ImproperlyConfigured(f"{name} must name the socket's path, e.g. unix:///run/redis/redis.sock.")
    if parts.scheme != "unix":
        if not parts.hostname:
            raise ImproperlyConfigured(f"{name} must name a host, e.g. redis://redis:6379/0.")
        database = parts.path.lstrip("/")
        if database and not database.isdigit():
            raise ImproperlyConfigured(f"{name}: the database after the host must be a number; got {database!r}.")
    return value


def database_urls(name: str) -> list[dict[str, object]]:
    """Comma-separated postgresql:// URLs (read replicas) as Django DATABASES entries."""
    return [database_from_url(url, name=name) for url in env_list(name, [])]
