"""Before serving (supportsite/http_server.py), start-up's objects are frozen out of the garbage
collector's sight and young collections are spaced out: under load the collector otherwise ran
several times a request (README, "Search under load")."""

from __future__ import annotations

import gc

from supportsite import http_server


def test_start_up_objects_are_frozen_and_young_collections_run_every_20000_allocations(monkeypatch):
    monkeypatch.setattr("faq.embeddings.warm_query_model", lambda: None)  # no model process here
    before, frozen = gc.get_threshold(), gc.get_freeze_count()
    try:
        http_server._settle()
        assert gc.get_threshold() == (http_server.GC_YOUNG_THRESHOLD, *before[1:])
        assert http_server.GC_YOUNG_THRESHOLD == 20_000 > before[0]
        assert gc.get_freeze_count() > frozen
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()
