"""Shared test setup: the offline schema mirror, and the servers tests start on loopback."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from shareddata import SCHEMA_MIRROR, needs_shared

pytest_plugins = ["s3server", "httpserver", "daskcluster", "labs", "slowserver"]


@pytest.fixture(autouse=True)
def _offline_schemas(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Every test reads schemas from ../shared's mirror and a private cache, never the network."""
    if SCHEMA_MIRROR.exists():
        monkeypatch.setenv("EOTDL_SCHEMA_MIRROR", str(SCHEMA_MIRROR))
    monkeypatch.setenv("EOTDL_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.setenv("EOTDL_OFFLINE", "1")
    monkeypatch.setenv("EOTDL_SITE_TILES", "none")  # no basemap tiles fetched by test browsers
    yield


@pytest.fixture
def shared_mirror() -> Path:
    needs_shared(SCHEMA_MIRROR)
    return SCHEMA_MIRROR


os.environ.setdefault("NO_COLOR", "1")
