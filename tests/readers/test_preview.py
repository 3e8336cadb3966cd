"""Readers of a lab served by `eotdl preview` (the embedded store, the built `_site/`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from readerlab import CONTENTS, SETTINGS, check_readers, eotdl, served

from eotdl.catalog.lab import Lab
from eotdl.site.build import build_site
from labs import make_lab

URL = r"(http://127\.0\.0\.1:\d+/)"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Lab:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EOTDL_SITE_TILES", "none")
        lab = make_lab(tmp_path_factory.mktemp("preview"), CONTENTS, **SETTINGS)
        build_site(lab, qa=False)
    return lab


def test_every_reader_of_eotdl_preview(lab: Lab, tmp_path: Path) -> None:
    command = eotdl("preview", "--lab", str(lab.root), "--port", "0", "--quiet")
    with served(command, URL) as url:
        check_readers(url, tmp_path)


def test_every_version_from_the_site_folder(lab: Lab, tmp_path: Path) -> None:
    from readerlab import get_every_version

    counts = get_every_version(str(lab.site_dir), tmp_path)
    assert counts == {"chips": 6, "chips@1.0.0": 4, "chips@1.1.0": 6}
