"""Fixtures of the site tests: no remote basemap, and one lab built for the session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sitelab import link_objects_if_missing, make_site_lab

from eotdl.catalog.lab import Lab
from eotdl.site import folderpages
from eotdl.site.build import build_site


@pytest.fixture(autouse=True)
def _no_tiles(monkeypatch: pytest.MonkeyPatch) -> None:
    """Maps get no remote basemap in tests (nothing leaves 127.0.0.1)."""
    monkeypatch.setenv("EOTDL_SITE_TILES", "none")


@pytest.fixture(scope="session")
def built_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """A lab built once for the read-only tests of the session (QA off: not this issue's).

    Lists of 20 rows and item pages up to 100 items keep it small: its 210-item dataset gets
    11 list pages and no item pages, as a dataset of over 1,000 items does with the defaults.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EOTDL_SITE_TILES", "none")
        patch.setattr(folderpages, "PAGE_SIZE", 20)
        patch.setattr(folderpages, "ITEM_PAGES_MAX", 100)
        lab = make_site_lab(tmp_path_factory.mktemp("site") / "lab", many=210)
        build_site(lab, qa=False)
    link_objects_if_missing(lab)
    yield lab


@pytest.fixture
def site_dir(built_lab: Lab) -> Path:
    return built_lab.site_dir
