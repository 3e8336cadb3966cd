"""The one rule for where bytes are: hrefs into the store become `objects/…` under the site
root (or absolute from `public_url`); no build ever writes a local path or `file://` URL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eotdl.catalog.lab import Lab
from eotdl.catalog.store import SiteHrefs, objects_mount
from eotdl.errors import InputError
from eotdl.site.build import build_site
from labs import make_lab
from stacgen import collection, item


def _lab(tmp_path: Path, href: str, public_url: str = "") -> Lab:
    lab = make_lab(tmp_path, store={"public_url": public_url} if public_url else None)
    folder = lab.dataset("ds")
    folder.write_collection(collection("ds"))
    one = item("a")
    one["assets"] = {"image": {"href": href, "type": "image/tiff"}}
    folder.write_items([one])
    return lab


def _asset(lab: Lab) -> str:
    data = json.loads((lab.site_dir / "datasets/ds/items/a.json").read_text())
    return str(data["assets"]["image"]["href"])


def test_store_hrefs_become_objects_under_the_site_root(tmp_path: Path) -> None:
    key = "objects/sha256/ab/cd.tif"
    lab = _lab(tmp_path, f"../../store/{key}")
    (lab.root / "store" / key).parent.mkdir(parents=True)
    (lab.root / "store" / key).write_bytes(b"tif")
    build_site(lab, qa=False)
    assert _asset(lab) == f"../../../{key}"
    assert (lab.site_dir / "datasets/ds/items" / _asset(lab)).read_bytes() == b"tif"
    assert objects_mount(lab.site_dir) == (lab.root / "store/objects").resolve()
    build_site(lab, qa=False, full=True)  # the old site (and its link) is removed, the bytes stay
    assert (lab.root / "store" / key).read_bytes() == b"tif"
    assert (lab.site_dir / "datasets/ds/items" / _asset(lab)).read_bytes() == b"tif"
    row = SiteHrefs(lab, lab.site_dir)
    folder = lab.dataset("ds").path
    # a file:// URL or absolute path into the store follows the same rule
    absolute = (lab.root / "store" / key).as_uri()
    assert row.href(absolute, folder, lab.site_dir / "datasets/ds") == f"../../{key}"


def test_public_url_makes_store_hrefs_absolute(tmp_path: Path) -> None:
    lab = _lab(tmp_path, "../../store/objects/sha256/ab/cd.tif", "https://data.example.org/lab")
    build_site(lab, qa=False)
    assert _asset(lab) == "https://data.example.org/lab/objects/sha256/ab/cd.tif"
    assert not (lab.site_dir / "objects").exists()


@pytest.mark.parametrize("kind", ["file-url", "path"])
def test_a_local_path_fails_the_build(tmp_path: Path, kind: str) -> None:
    outside = tmp_path / "elsewhere" / "x.tif"
    href = outside.as_uri() if kind == "file-url" else str(outside)
    lab = _lab(tmp_path, href)
    with pytest.raises(InputError, match="local path") as caught:
        build_site(lab, qa=False)
    assert "datasets/ds" in caught.value.message and href in caught.value.message
    assert not (lab.site_dir / "catalog.json").exists()  # nothing half-written


def test_a_local_path_in_a_card_fails_the_build(tmp_path: Path) -> None:
    lab = _lab(tmp_path, "https://example.org/x.tif")
    card = lab.dataset("ds").path / "README.md"
    card.write_text(f"---\ntitle: ds\n---\nData copied from {tmp_path / 'lab' / 'raw'}.\n")
    with pytest.raises(InputError, match="absolute path"):
        build_site(lab, qa=False)
