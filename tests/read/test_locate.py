"""Finding datasets: labs, built sites (local and HTTP), versions, foreign catalogs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from eotdl.catalog.geoparquet import read_items_parquet
from eotdl.catalog.lab import Lab
from eotdl.catalog.locations import resolve
from eotdl.catalog.tree import write_stac_tree
from eotdl.errors import InputError
from eotdl.read.finding import locate, split_name


def test_split_name():
    assert split_name("chips") == ("chips", None)
    assert split_name("chips@1.2.0") == ("chips", "1.2.0")
    with pytest.raises(InputError, match="nothing after '@'"):
        split_name("chips@")


def test_resolve_local_http_and_s3():
    assert resolve("/a/b/items/x.json", "../../store/o.tif") == "/a/store/o.tif"
    assert resolve("http://h/s/d/c.json", "./items/x.json") == "http://h/s/d/items/x.json"
    assert resolve("s3://b/site/d/c.json", "../o.tif") == "s3://b/site/o.tif"
    assert resolve("/a/c.json", "https://x/y.tif") == "https://x/y.tif"


def test_parquet_hrefs_match_the_item_files(chips: Lab):
    """items.parquet hrefs are relative to the dataset folder; item files' to items/."""
    located = locate("chips", lab=chips.site_dir)
    folder = chips.site_dir / "datasets/chips"
    for item in read_items_parquet(folder / "items.parquet"):
        item_file = folder / "items" / f"{item['id']}.json"
        on_disk = json.loads(item_file.read_text())["assets"]["image"]["href"]
        assert resolve(str(folder / "items.parquet"), item["assets"]["image"]["href"]) == resolve(
            str(item_file), on_disk
        )
    assert len(list(located.iter_items())) == 12


def test_lab_site_and_http_site_give_the_same_items(chips: Lab, http_dir):
    from_lab = locate("chips", lab=chips.root)
    from_site = locate("chips", lab=chips.site_dir)
    assert from_lab.kind == "lab" and from_site.kind == "site"
    lab_items = {i["id"]: i for i in from_lab.iter_items()}
    site_items = {i["id"]: i for i in from_site.iter_items()}
    assert len(lab_items) == 12 and lab_items.keys() == site_items.keys()
    for item_id, item in lab_items.items():  # hrefs resolve to the same stored files
        site_href = site_items[item_id]["assets"]["image"]["href"]
        assert os.path.realpath(item["assets"]["image"]["href"]) == os.path.realpath(site_href)
        assert Path(item["assets"]["image"]["href"]).is_file()

    shutil.copytree(chips.root, http_dir.root / "lab", symlinks=True)
    remote = locate("chips", lab=f"{http_dir.url}/lab/_site")
    items = list(remote.iter_items())
    assert len(items) == 12
    href = items[0]["assets"]["image"]["href"]
    assert href.startswith(f"{http_dir.url}/lab/_site/objects/sha256/")
    # items.parquet is read (one request), not twelve item files
    assert not any("/items/" in r for r in http_dir.requests)


def test_site_without_parquet_reads_item_links(chips: Lab):
    site = chips.root / "_plain"
    if not site.exists():
        write_stac_tree(chips, site, parquet=False)
    assert not (site / "datasets/chips/items.parquet").exists()
    located = locate("chips", lab=site)
    items = list(located.iter_items())
    assert len(items) == 12
    assert all(Path(i["assets"]["image"]["href"]).is_file() for i in items)


def test_unknown_dataset_lists_the_ones_there(chips: Lab):
    with pytest.raises(InputError, match="no dataset 'nope'") as info:
        locate("nope", lab=chips.site_dir)
    assert "chips" in str(info.value)
    with pytest.raises(InputError, match="no dataset 'nope'") as info:
        locate("nope", lab=chips.root)
    assert "chips" in str(info.value)


def test_no_catalog_is_a_clear_error(tmp_path: Path):
    with pytest.raises(InputError, match="no catalog.json"):
        locate("x", lab=tmp_path)


def test_no_lab_anywhere(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("EOTDL_LAB", raising=False)
    with pytest.raises(InputError, match="no lab given"):
        locate("chips")


def test_env_lab(chips: Lab, monkeypatch, tmp_path: Path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EOTDL_LAB", str(chips.site_dir))
    assert locate("chips").kind == "site"


def test_site_versions(chips: Lab, tmp_path: Path):
    site = tmp_path / "site"
    shutil.copytree(chips.site_dir, site)
    old = site / "datasets/chips/v/0.9.0"
    old.mkdir(parents=True)
    collection = json.loads((site / "datasets/chips/collection.json").read_text())
    collection["version"] = "0.9.0"
    collection["links"] = [link for link in collection["links"] if link["rel"] != "item"]
    (old / "collection.json").write_text(json.dumps(collection))
    assert locate("chips@0.9.0", lab=site).version == "0.9.0"
    assert list(locate("chips@0.9.0", lab=site).iter_items()) == []
    assert locate("chips@1.0.0", lab=site).location.endswith("datasets/chips/collection.json")
    with pytest.raises(InputError, match="no version 2.0.0 of 'chips'"):
        locate("chips", version="2.0.0", lab=site)


def test_lab_version_from_git_tag(chips_copy: Lab):
    root = chips_copy.root

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)

    git("init", "-q")
    git("add", "-A")
    git("-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "v1")
    git("-c", "user.email=t@t", "-c", "user.name=t", "tag", "-a", "chips@0.1.0", "-m", "old")
    items = chips_copy.dataset("chips").items_path
    lines = items.read_text().splitlines()
    items.write_text("\n".join(lines[:3]) + "\n")
    assert len(list(locate("chips", lab=root).iter_items())) == 3
    tagged = locate("chips@0.1.0", lab=root)
    assert tagged.version == "0.1.0" and len(list(tagged.iter_items())) == 12
    with pytest.raises(InputError, match="no git tag chips@9.9.9"):
        locate("chips@9.9.9", lab=root)


def test_foreign_catalog_by_id_and_by_url(tmp_path: Path, http_dir):
    """A static catalog made by pystac (no checksums, nested child catalogs)."""
    import pystac

    catalog = pystac.Catalog("other", "someone else's catalog")
    sub = pystac.Catalog("sub", "a sub-catalog")
    collection = pystac.Collection(
        "Foreign_Set",
        "a collection",
        pystac.Extent(pystac.SpatialExtent([[0, 0, 1, 1]]), pystac.TemporalExtent([[None, None]])),
    )
    import datetime as dt

    for i in range(3):
        item = pystac.Item(
            f"f{i}",
            {"type": "Point", "coordinates": [0.5, 0.5]},
            [0.5, 0.5, 0.5, 0.5],
            dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
            {},
        )
        item.add_asset("data", pystac.Asset(f"./f{i}.txt"))
        collection.add_item(item)
    sub.add_child(collection)
    catalog.add_child(sub)
    catalog.normalize_hrefs(str(http_dir.root / "cat"))
    catalog.save(pystac.CatalogType.SELF_CONTAINED)
    located = locate("Foreign_Set", lab=f"{http_dir.url}/cat/catalog.json")
    assert located.kind == "catalog" and not located.has_checksums
    items = list(located.iter_items())
    assert sorted(i["id"] for i in items) == ["f0", "f1", "f2"]
    assert items[0]["assets"]["data"]["href"].startswith(f"{http_dir.url}/cat/sub/Foreign_Set/")
    direct = locate(f"{http_dir.url}/cat/sub/Foreign_Set/collection.json")
    assert len(list(direct.iter_items())) == 3
