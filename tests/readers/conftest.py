"""Fixtures of the readers' tests: no remote basemap in the pages they build."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _no_tiles(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EOTDL_SITE_TILES", "none")
