"""Readers of a lab served by `eotdl serve` (the STAC API over the built site)."""

from __future__ import annotations

from pathlib import Path

import pytest
from readerlab import CONTENTS, SETTINGS, check_readers, crawl, eotdl, served

from eotdl.catalog.lab import Lab
from eotdl.site.build import build_site
from labs import make_lab

URL = r"(http://127\.0\.0\.1:\d+)"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Lab:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EOTDL_SITE_TILES", "none")
        lab = make_lab(tmp_path_factory.mktemp("serve"), CONTENTS, **SETTINGS)
        build_site(lab, qa=False)
    return lab


@pytest.fixture(scope="module")
def url(lab: Lab):  # type: ignore[no-untyped-def]
    # as a user runs it: inside the lab, which serves the lab's built site
    with served(eotdl("serve", "--port", "0"), URL, cwd=lab.root) as url:
        yield url


def test_every_reader_of_eotdl_serve(url: str, tmp_path: Path) -> None:
    check_readers(url, tmp_path)


def test_the_api_hands_out_no_local_path(url: str) -> None:
    found = crawl([url, url + "collections/chips/items", url + "search?collections=chips"])
    assert not found.local, found.local[:5]
    assert not found.failures, dict(list(found.failures.items())[:10])
    assert any("/objects/sha256/" in u for u in found.statuses)
