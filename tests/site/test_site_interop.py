"""Interoperability, for real: pystac-client over HTTP, stac-validator offline, geoparquet."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from sitelab import PUBLIC_URL, make_site_lab

from eotdl.catalog.geoparquet import read_items_parquet
from eotdl.site.build import build_site
from eotdl.site.publish import publish_site
from eotdl.site.serve import start_site
from labs import set_store


def test_pystac_client_walks_every_collection_and_item(site_dir: Path) -> None:
    from pystac_client import Client

    expected = {
        p.parent.name: len(list((p.parent / "items").glob("*.json")))
        for p in site_dir.glob("*/*/collection.json")
    }
    with start_site(site_dir) as site, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a static catalog has no API conformance classes
        client = Client.open(site.url + "catalog.json")
        found = {}
        for collection in client.get_collections():
            items = list(collection.get_items())
            assert all(i.collection_id == collection.id for i in items)
            found[collection.id] = len(items)
        chips = client.get_collection("chips")
        first = next(iter(chips.get_items()))
        assert first.get_self_href().startswith(site.url + "datasets/chips/items/")
    assert found == expected
    assert found["many-chips"] == 210


def _schema_config(mirror: Path, path: Path) -> Path:
    mapping = {
        f"https://{p.relative_to(mirror).as_posix()}": str(p) for p in mirror.rglob("*.json")
    }
    path.write_text(json.dumps({"schemas": mapping}))
    return path


def test_stac_validator_finds_the_published_tree_valid(tmp_path: Path, shared_mirror: Path) -> None:
    tool = shutil.which("stac-validator") or str(Path(sys.executable).with_name("stac-validator"))
    if not os.path.exists(tool):
        pytest.skip("stac-validator is not installed (pip install stac-valid)")
    lab = set_store(make_site_lab(tmp_path / "lab", many=12), public_url=PUBLIC_URL)
    target = tmp_path / "www"
    publish_site(lab, target.as_uri(), qa=False)
    config = _schema_config(shared_mirror, tmp_path / "schemas.json")
    env = {**os.environ, "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9"}
    done = subprocess.run(
        [
            tool,
            "validate",
            "--recursive",
            "--schema-config",
            str(config),
            "--no_output",
            str(target / "catalog.json"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    objects = 1 + 4 + (30 + 4 + 12 + 1)
    assert f"passed: {objects}/{objects}" in output, output


def _absolute(obj: dict[str, Any], base: Path) -> dict[str, Any]:
    """``obj`` with relative asset hrefs resolved against ``base`` and links left out."""
    out = dict(obj)
    out.pop("links", None)
    assets = {}
    for key, asset in (obj.get("assets") or {}).items():
        href = asset["href"]
        if "://" not in href:  # realpath: each site's objects/ links to the same store
            href = os.path.realpath(base / href)
        assets[key] = {**asset, "href": href}
    out["assets"] = assets
    return out


@pytest.mark.parametrize("name", ["chips", "hostile", "many-chips"])
def test_geoparquet_reads_back_the_same_items(site_dir: Path, name: str) -> None:
    folder = site_dir / "datasets" / name
    table = pq.read_table(folder / "items.parquet")
    assert b"geo" in table.schema.metadata and "geometry" in table.column_names
    back = {i["id"]: _absolute(i, folder) for i in read_items_parquet(folder / "items.parquet")}
    files = sorted((folder / "items").glob("*.json"))
    assert len(back) == len(files) == table.num_rows
    for path in files:
        item = _absolute(json.loads(path.read_text()), folder / "items")
        assert back[item["id"]] == item, item["id"]


def test_geoparquet_links_resolve_from_the_parquet_file(site_dir: Path) -> None:
    folder = site_dir / "datasets/chips"
    item = next(read_items_parquet(folder / "items.parquet"))
    links = {link["rel"]: link["href"] for link in item["links"]}
    assert (folder / links["collection"]).resolve() == (folder / "collection.json").resolve()
    assert (folder / links["root"]).resolve() == (site_dir / "catalog.json").resolve()


def test_incremental_parquet_equals_a_full_one(tmp_path: Path) -> None:
    lab = make_site_lab(tmp_path / "lab", many=12)
    build_site(lab, qa=False)
    folder = lab.dataset("chips")
    items = list(folder.iter_items())
    items[3]["properties"]["new:field"] = "only here"
    items = items[:-2]
    folder.write_items(items)
    build_site(lab, qa=False)
    folder_a = lab.site_dir / "datasets/chips"
    patched = [_absolute(i, folder_a) for i in read_items_parquet(folder_a / "items.parquet")]
    folder_b = tmp_path / "full/datasets/chips"
    build_site(lab, tmp_path / "full", qa=False, full=True)
    rewritten = [_absolute(i, folder_b) for i in read_items_parquet(folder_b / "items.parquet")]
    assert patched == rewritten
    by_id = {i["id"]: i for i in patched}  # files are in space-time order, not id order
    assert len(patched) == 28 and by_id[items[3]["id"]]["properties"]["new:field"] == "only here"
