"""Readers of a lab published to a folder and read over plain HTTP (`python -m http.server`):
the lab's own store (the site at its root, beside `objects/`), and a `--to` folder elsewhere,
which needs the store's `public_url` (and is refused without it)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from readerlab import BIN, CONTENTS, SETTINGS, check_readers, static_server

from eotdl.catalog.lab import Lab
from eotdl.site.publish import publish_site
from labs import make_lab


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Lab:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EOTDL_SITE_TILES", "none")
        lab = make_lab(tmp_path_factory.mktemp("published"), CONTENTS, **SETTINGS)
        publish_site(lab, qa=False)
    return lab


def test_every_reader_of_the_lab_store_over_http(lab: Lab, tmp_path: Path) -> None:
    store = lab.root / "store"
    assert (store / "catalog.json").is_file() and (store / "objects").is_dir()
    assert not (store / "objects").is_symlink()  # the bytes themselves, not a link
    with static_server(store) as url:
        check_readers(url, tmp_path)


def test_every_version_from_the_published_folder(lab: Lab, tmp_path: Path) -> None:
    from readerlab import get_every_version

    counts = get_every_version(str(lab.root / "store"), tmp_path)
    assert counts == {"chips": 6, "chips@1.0.0": 4, "chips@1.1.0": 6}


def test_publishing_elsewhere_without_public_url_is_refused(lab: Lab, tmp_path: Path) -> None:
    target = tmp_path / "www"
    done = subprocess.run(
        [str(BIN / "eotdl"), "publish", "--lab", str(lab.root), "--no-qa", "--no-build"]
        + ["--to", target.as_uri()],
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0
    assert "public_url" in done.stderr and "[store]" in done.stderr
    assert "Traceback" not in done.stderr
    assert not target.exists()


def test_every_reader_of_a_to_folder_with_public_url(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path_factory.mktemp("public")
    (root / "lab" / "store").mkdir(parents=True)
    with static_server(root / "lab" / "store") as store_url:
        lab = make_lab(root, CONTENTS, **SETTINGS, store={"public_url": store_url})
        www = root / "www"
        publish_site(lab, www.as_uri(), qa=False)
        assert not (www / "objects").exists()
        item = next((www / "datasets/chips/items").glob("*.json")).read_text()
        assert f'"{store_url}objects/sha256/' in item  # absolute, from public_url
        with static_server(www) as url:
            check_readers(url, tmp_path, also=(store_url,))
