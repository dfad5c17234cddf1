"""Under ASGI, one sync-only middleware would push every request through Django's single sync thread."""

from __future__ import annotations

import asyncio

import pytest
from django.conf import settings
from django.test import AsyncClient
from django.utils.module_loading import import_string


def test_every_middleware_runs_in_async_mode():
    for path in settings.MIDDLEWARE:
        middleware = import_string(path)
        assert getattr(middleware, "async_capable", False), f"{path} is sync-only"


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("async_orm")
async def test_an_anonymous_api_call_makes_few_trips_to_the_sync_thread(monkeypatch):
    """Django's MiddlewareMixin would make two per middleware (22 here); ours run on the loop.

    The one trip left is Django's request_finished signal."""
    from asgiref import sync

    trips = 0
    original = sync.SyncToAsync.__call__

    async def counted(self, *args, **kwargs):
        nonlocal trips
        if self._thread_sensitive:
            trips += 1
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(sync.SyncToAsync, "__call__", counted)
    response = await AsyncClient().post("/api/ai_faq_search", {"query": "hello"}, content_type="application/json")
    assert response.status_code == 200
    await asyncio.sleep(0)
    assert trips <= 3, trips
