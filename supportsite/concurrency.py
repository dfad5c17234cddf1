"""Run blocking work (ORM, embedding, provider calls) off the event loop."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from asgiref.sync import sync_to_async
from django.db import connections

P = ParamSpec("P")
R = TypeVar("R")


def in_thread(fn: Callable[P, R]) -> Callable[P, R]:
    """sync_to_async on the shared thread pool, not Django's single "sync thread".

    Requests then run in parallel; each returns its pooled connection when done, since
    connections are per thread and the pool has a fixed size.
    """

    @wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        finally:
            connections.close_all()

    return sync_to_async(run, thread_sensitive=False)  # type: ignore[return-value]
