from __future__ import annotations

import pytest


@pytest.mark.asyncio
async def test_healthz_answers_from_an_async_view(async_client):
    response = await async_client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.asyncio
async def test_healthz_declares_its_method(async_client):
    response = await async_client.post("/healthz")
    assert response.status_code == 405
