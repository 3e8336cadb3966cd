"""Hostile input, traversal and symlinks: nothing outside the lab (or the source folder) is read."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from eotdlrun import run_eotdl

from eotdl.builders.ingestion import ingest
from eotdl.catalog.lab import Lab, init_lab
from eotdl.catalog.paths import LocalRoot, PathRefused, open_readable, readable_path
from eotdl.catalog.validate import Validator, validate_target
from eotdl.errors import InputError
from eotdl.qa.context import QAContext
from eotdl.qa.pull_request import check_pull_request, render_markdown
from labs import Dataset, commit, git, make_lab
from rastergen import write_tif

SECRET = "AWS_SECRET_ACCESS_KEY=do-not-publish-me"


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "outside" / "environ"
    path.parent.mkdir()
    path.write_text(f"---\ntitle: {SECRET}\ndescription: {SECRET}\n---\n{SECRET}\n")
    return path


@pytest.fixture
def lab(tmp_path: Path) -> Lab:
    card = {"title": "Fine", "description": "d", "license": "CC-BY-4.0"}
    return make_lab(tmp_path, [Dataset("ds", "stub", count=2, card=card)], git=True)


def _link_card(lab: Lab, target: Path) -> None:
    card = lab.dataset("ds").card_path
    card.unlink()
    card.symlink_to(target)


def test_card_symlinked_outside_the_dataset_is_refused(lab, secret):
    _link_card(lab, secret)
    with pytest.raises(PathRefused, match="leads outside"):
        lab.dataset("ds").read_card()


def test_validate_refuses_a_symlinked_card(lab, secret, capsys):
    _link_card(lab, secret)
    report = validate_target(str(lab.root), Validator())
    assert not report.ok
    assert any("leads outside" in p.message for p in report.problems)
    assert not any(SECRET in p.message for p in report.problems)
    ran = run_eotdl(capsys, "validate", str(lab.root))
    assert ran.code == 1 and SECRET not in ran.text and "Traceback" not in ran.text


def test_build_never_publishes_a_symlinked_card(lab, secret, tmp_path):
    from eotdl.site.build import build_site

    _link_card(lab, secret)
    out = tmp_path / "site"
    build_site(lab, out, qa=False)
    for path in out.rglob("*"):
        if path.is_file():
            assert SECRET not in path.read_text(errors="replace"), path


def test_items_symlinked_outside_are_refused(lab, tmp_path):
    outside = tmp_path / "items.ndjson"
    outside.write_bytes(lab.dataset("ds").items_path.read_bytes())
    lab.dataset("ds").items_path.unlink()
    lab.dataset("ds").items_path.symlink_to(outside)
    with pytest.raises(PathRefused):
        list(lab.dataset("ds").iter_items())


def test_check_fails_on_a_card_replaced_by_a_symlink(lab, secret, capsys):
    git(lab.root, "checkout", "-q", "-b", "pr")
    _link_card(lab, secret)
    commit(lab, "card")
    report = check_pull_request(lab, "main")
    assert not report.ok
    codes = [f.code for f in report.files.findings]
    assert codes == ["file-unsafe"]
    markdown = render_markdown(report)
    assert "symlink" in markdown and SECRET not in markdown
    ran = run_eotdl(capsys, "check", "--base", "main", "--lab", str(lab.root))
    assert ran.code == 1 and SECRET not in ran.text


def test_check_fails_on_a_dataset_folder_that_is_a_symlink(lab, tmp_path):
    git(lab.root, "checkout", "-q", "-b", "pr")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "collection.json").write_text("{}")
    os.symlink(elsewhere, lab.datasets_dir / "evil")
    commit(lab, "evil")
    report = check_pull_request(lab, "main")
    assert [f.object for f in report.files.findings] == ["datasets/evil"]
    assert report.datasets == []


@pytest.mark.timeout(60)
@pytest.mark.parametrize("href", ["/dev/stdin", "/etc/passwd", "file:///etc/passwd", "../../../x"])
def test_qa_never_opens_an_href_outside_the_lab(lab, href, tmp_path):
    folder = lab.dataset("ds")
    bad = [dict(i) for i in folder.iter_items()]
    bad[0]["assets"] = {"data": {"href": href, "type": "image/tiff; application=geotiff"}}
    folder.write_items(bad)
    ctx = QAContext(lab, "ds")
    assert not ctx.in_lab(href)
    with pytest.raises(InputError, match="QA does not open it"):
        ctx.raster_source(href)
    assert ctx.raster_facts() == {}


def _local_catalog(root: Path) -> Path:
    """A STAC 1.0 collection of two items, each with a GeoTIFF asset beside it."""
    root.mkdir(parents=True)
    links = []
    for i in range(2):
        write_tif(root / f"s{i}" / "image.tif", seed=i, bands=1, size=16, offset=(i * 200.0, 0.0))
        item = {
            "type": "Feature",
            "stac_version": "1.0.0",
            "id": f"s{i}",
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]],
            },
            "bbox": [0, 0, 1, 1],
            "properties": {"datetime": "2021-01-01T00:00:00Z"},
            "links": [],
            "assets": {"image": {"href": "./image.tif", "type": "image/tiff"}},
        }
        (root / f"s{i}" / "item.json").write_text(json.dumps(item))
        links.append({"rel": "item", "href": f"./s{i}/item.json"})
    collection = {
        "type": "Collection",
        "id": "c",
        "description": "d",
        "stac_version": "1.0.0",
        "license": "CC-BY-4.0",
        "links": links,
        "extent": {"spatial": {"bbox": [[0, 0, 1, 1]]}, "temporal": {"interval": [[None, None]]}},
    }
    (root / "collection.json").write_text(json.dumps(collection))
    return root / "collection.json"


def test_ingest_stac_refuses_an_asset_symlinked_outside_the_catalog(tmp_path, secret):
    catalog = _local_catalog(tmp_path / "cat")
    image = tmp_path / "cat" / "s0" / "image.tif"
    image.unlink()
    image.symlink_to(secret)
    lab = init_lab(tmp_path / "lab")
    with pytest.raises(PathRefused, match="leads outside"):
        ingest(lab, "stac", str(catalog), "ds", {}, progress=False)
    stored = [p for p in (lab.root / "store").rglob("*") if p.is_file()]
    assert not any(SECRET.encode() in p.read_bytes() for p in stored)


def test_readable_path_refuses_special_files(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(PathRefused, match="FIFO"):
        open_readable(fifo, None)  # must not block waiting for a writer
    for system in ("/dev/stdin", "/proc/self/environ", "/dev/zero"):
        with pytest.raises(PathRefused):
            readable_path(system, None)
    with pytest.raises(InputError, match="folder"):
        readable_path(tmp_path, None)


def test_local_root_allows_only_files_inside(tmp_path):
    inside = tmp_path / "root" / "a.json"
    inside.parent.mkdir()
    inside.write_text(json.dumps({}))
    (tmp_path / "root" / "up").symlink_to(tmp_path)
    (tmp_path / "root" / "ok").symlink_to(inside)
    root = LocalRoot(tmp_path / "root")
    assert root.allows(inside) and root.allows(tmp_path / "root" / "ok")
    assert not root.allows(tmp_path / "root" / "up" / "root" / ".." / "x")
    (tmp_path / "other.json").write_text("{}")
    assert not root.allows(tmp_path / "root" / "up" / "other.json")
    assert not root.allows(tmp_path / "root" / ".." / "other.json")
    assert not root.allows(tmp_path / "root" / "missing.json")


def test_get_of_a_local_catalog_refuses_an_asset_symlinked_outside(tmp_path, secret):
    from eotdl.read.download import get

    catalog = _local_catalog(tmp_path / "cat")
    image = tmp_path / "cat" / "s1" / "image.tif"
    image.unlink()
    image.symlink_to(secret)
    out = tmp_path / "out"
    with pytest.raises(PathRefused, match="leads outside"):
        get(str(catalog), out, progress=False)
    assert not out.exists() or not any(p.is_file() for p in out.rglob("*"))


def test_get_of_a_local_catalog_refuses_absolute_paths_outside(tmp_path, secret):
    from eotdl.read.download import get

    catalog = _local_catalog(tmp_path / "cat")
    item = tmp_path / "cat" / "s0" / "item.json"
    data = json.loads(item.read_text())
    data["assets"]["image"]["href"] = str(secret)
    item.write_text(json.dumps(data))
    with pytest.raises(PathRefused, match="leads outside"):
        get(str(catalog), tmp_path / "out", progress=False)


@pytest.mark.timeout(30)
def test_the_location_reader_reads_only_regular_files(tmp_path):
    from eotdl.catalog.locations import NotFoundError, Reader

    fifo = tmp_path / "collection.json"
    os.mkfifo(fifo)
    reader = Reader()
    for location in (str(fifo), fifo.as_uri(), "/dev/stdin", "/proc/self/environ"):
        with pytest.raises(PathRefused):
            reader.read_bytes(location)
    with pytest.raises(NotFoundError):
        reader.read_bytes(str(tmp_path / "missing.json"))


def test_validate_of_a_local_catalog_stays_in_its_folder(tmp_path, secret):
    catalog = _local_catalog(tmp_path / "cat")
    data = json.loads(catalog.read_text())
    outside = tmp_path / "outside" / "item.json"
    outside.write_text(json.dumps({"type": "Feature", "id": SECRET}))
    data["links"].append({"rel": "item", "href": "../outside/item.json"})
    catalog.write_text(json.dumps(data))
    report = validate_target(str(catalog), Validator())
    refused = [p for p in report.problems if "leads outside" in p.message]
    assert len(refused) == 1
    assert not any(SECRET in p.message for p in report.problems)
