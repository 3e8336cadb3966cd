"""Shared test setup: the offline schema mirror, and the servers tests start on loopback."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest_plugins = ["s3server", "httpserver"]

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SCHEMA_MIRROR = SHARED / "stac-schemas"
EXAMPLES = SHARED / "stac-examples"
RASTER_FIXTURES = SHARED / "raster-fixtures"


def needs_shared(path: Path) -> None:
    """Skip the calling test when ../shared (or the part it needs) is absent."""
    if not path.exists():
        pytest.skip(f"{path} is absent: these tests read real third-party data from ../shared")


@pytest.fixture(autouse=True)
def _offline_schemas(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Every test reads schemas from ../shared's mirror and a private cache, never the network."""
    if SCHEMA_MIRROR.exists():
        monkeypatch.setenv("EOTDL_SCHEMA_MIRROR", str(SCHEMA_MIRROR))
    monkeypatch.setenv("EOTDL_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.setenv("EOTDL_OFFLINE", "1")
    yield


@pytest.fixture
def shared_mirror() -> Path:
    needs_shared(SCHEMA_MIRROR)
    return SCHEMA_MIRROR


os.environ.setdefault("NO_COLOR", "1")
