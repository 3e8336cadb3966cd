"""`eotdl get`: verified, resumable downloads from labs, sites (local, HTTP, S3) and catalogs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from eotdl.catalog.http_downloads import HttpDownloader, HttpGet
from eotdl.catalog.lab import Lab
from eotdl.catalog.store import open_lab_store
from eotdl.ml.dataset import open_dataset
from eotdl.read.download import get
from eotdl.storage import TransferError, open_store
from eotdl.storage.hashing import multihash_sha256, sha256_file


def _assets(folder: Path) -> list[Path]:
    return sorted(p for p in (folder / "assets").rglob("*") if p.is_file())


def test_get_from_a_lab_writes_a_dataset_folder(chips: Lab, tmp_path: Path):
    out = tmp_path / "out"
    result = get("chips", out, lab=chips.root, progress=False)
    assert (result.items, result.files, result.downloaded, result.skipped) == (12, 12, 12, 0)
    assert result.with_checksum == 12 and not result.notes() and not result.failed
    files = _assets(out)
    assert len(files) == 12
    items = [json.loads(line) for line in (out / "items.ndjson").read_text().splitlines()]
    for item in items:
        asset = item["assets"]["image"]
        assert asset["href"].startswith("assets/")
        local = out / asset["href"]
        assert multihash_sha256(sha256_file(local)) == asset["file:checksum"]
    manifest = json.loads((out / "eotdl-get.json").read_text())
    assert manifest["dataset"] == "chips" and manifest["items"] == 12
    # the folder is a dataset open_dataset reads
    local = open_dataset(out)
    assert local.located.kind == "folder" and len(local.items()) == 12
    assert all(Path(i["assets"]["image"]["href"]).is_file() for i in local.items())

    again = get("chips", out, lab=chips.root, progress=False)
    assert (again.downloaded, again.skipped, again.bytes) == (0, 12, 0)


def test_filters_and_asset_keys(chips: Lab, tmp_path: Path):
    result = get("chips", tmp_path / "v", lab=chips.site_dir, split="validation", progress=False)
    assert result.items == 3  # stratified 0.5/0.25/0.25 of 3 × 4 chips
    items = [json.loads(x) for x in (tmp_path / "v/items.ndjson").read_text().splitlines()]
    assert {i["properties"]["ml-aoi:split"] for i in items} == {"validate"}

    none = get("chips", tmp_path / "t", lab=chips.root, datetime="2019-01-01/..", progress=False)
    assert none.items == 0 and none.files == 0
    some = get("chips", tmp_path / "d", lab=chips.root, datetime="2018-06-01", progress=False)
    assert some.items == 12
    far = get("chips", tmp_path / "b", lab=chips.root, bbox="10,10,11,11", progress=False)
    assert far.items == 0

    from eotdl.errors import InputError

    with pytest.raises(InputError, match="no asset 'overview'"):
        get("chips", tmp_path / "a", lab=chips.root, assets="overview", progress=False)
    with pytest.raises(InputError, match="unknown split"):
        get("chips", tmp_path / "a", lab=chips.root, split="dev", progress=False)


def test_get_over_http(chips: Lab, http_dir, tmp_path: Path):
    shutil.copytree(chips.root, http_dir.root / "lab", symlinks=True)
    out = tmp_path / "out"
    result = get("chips", out, lab=f"{http_dir.url}/lab/_site", progress=False)
    assert (result.items, result.downloaded) == (12, 12)
    assert result.bytes == sum(p.stat().st_size for p in _assets(out))
    http_dir.reset()
    again = get("chips", out, lab=f"{http_dir.url}/lab/_site/", progress=False)
    assert again.skipped == 12 and again.downloaded == 0
    assert not any("/store/" in r for r in http_dir.requests)  # nothing re-fetched


def test_corrupt_byte_in_the_store_is_refetched_then_reported(chips_copy: Lab, tmp_path: Path):
    item = next(chips_copy.dataset("chips").iter_items())
    store = open_lab_store(chips_copy)
    key = store.key_for_href(
        str((chips_copy.dataset("chips").path / item["assets"]["image"]["href"]).resolve())
    )
    assert key is not None
    path = Path(store.href(key).removeprefix("file://"))
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, one byte flipped
    path.chmod(0o644)
    path.write_bytes(bytes(data))

    out = tmp_path / "out"
    with pytest.raises(TransferError) as info:
        get("chips", out, lab=chips_copy.root, progress=False)
    message = str(info.value)
    assert "1 of 12 files failed" in message and "corrupt" in message and "fetched twice" in message
    assert len(_assets(out)) == 11  # the others are there, verified; the bad one is not
    assert not list(out.rglob("*.part"))
    manifest = json.loads((out / "eotdl-get.json").read_text())
    assert len(manifest["failed"]) == 1


def test_corrupt_file_over_http(chips: Lab, http_dir, tmp_path: Path):
    shutil.copytree(chips.root, http_dir.root / "lab", symlinks=True)
    victim = next((http_dir.root / "lab/store/objects").rglob("*.tif"))
    victim.chmod(0o644)
    victim.write_bytes(victim.read_bytes()[:-1] + b"\x00")
    with pytest.raises(TransferError, match="corrupt at the source.*fetched twice"):
        get("chips", tmp_path / "o", lab=f"{http_dir.url}/lab/_site", progress=False)
    assert len(_assets(tmp_path / "o")) == 11
    assert sum(1 for r in http_dir.requests if victim.name in r) == 2


def test_foreign_catalog_is_verified_by_size_only(http_dir, tmp_path: Path):
    root = http_dir.root / "cat"
    (root / "c" / "items").mkdir(parents=True)
    (root / "catalog.json").write_text(
        json.dumps(
            {
                "type": "Catalog",
                "id": "x",
                "description": "d",
                "stac_version": "1.0.0",
                "links": [{"rel": "child", "href": "./c/collection.json"}],
            }
        )
    )
    links = []
    for i in range(3):
        data = bytes([i]) * (100 + i)
        (root / "c" / "items" / f"f{i}.bin").write_bytes(data)
        asset = {"href": f"./f{i}.bin"}
        if i < 2:
            asset["file:size"] = len(data)
        item = {
            "type": "Feature",
            "stac_version": "1.0.0",
            "id": f"f{i}",
            "geometry": None,
            "properties": {"datetime": "2020-01-01T00:00:00Z"},
            "links": [],
            "assets": {"data": asset},
        }
        (root / "c" / "items" / f"f{i}.json").write_text(json.dumps(item))
        links.append({"rel": "item", "href": f"./items/f{i}.json"})
    (root / "c" / "collection.json").write_text(
        json.dumps(
            {
                "type": "Collection",
                "id": "foreign",
                "description": "d",
                "stac_version": "1.0.0",
                "license": "other",
                "links": links,
                "extent": {
                    "spatial": {"bbox": [[0, 0, 1, 1]]},
                    "temporal": {"interval": [[None, None]]},
                },
            }
        )
    )
    result = get("foreign", tmp_path / "f", lab=f"{http_dir.url}/cat", progress=False)
    assert (result.downloaded, result.size_only, result.unverified) == (3, 2, 1)
    assert any("verified by size only" in n for n in result.notes())
    assert any("not verified" in n for n in result.notes())
    again = get("foreign", tmp_path / "f", lab=f"{http_dir.url}/cat", progress=False)
    assert again.skipped == 3
    (root / "c" / "items" / "f0.bin").write_bytes(b"short")
    with pytest.raises(TransferError, match="5 bytes instead of 100"):
        get("foreign", tmp_path / "g", lab=f"{http_dir.url}/cat", progress=False)


def test_http_part_file_is_resumed_with_a_range_request(slow_server, tmp_path: Path):
    data = bytes(range(256)) * 400
    (slow_server.root / "big.bin").write_bytes(data)
    dest = tmp_path / "big.bin"
    get_ = HttpGet(
        f"{slow_server.url}/big.bin",
        str(dest),
        multihash_sha256(__import__("hashlib").sha256(data).hexdigest()),
        len(data),
    )
    get_.part.write_bytes(data[:30000])  # what a killed run left behind
    summary = HttpDownloader().get_files([get_], progress=False)
    assert summary.sent == 1 and not summary.failed
    assert dest.read_bytes() == data and not get_.part.exists()
    assert slow_server.ranges[-1][1] == "bytes=30000-"
    assert summary.bytes == len(data) - 30000

    stale = HttpGet(get_.url, str(tmp_path / "other.bin"), get_.checksum, get_.size)
    stale.part.write_bytes(b"\xff" * 1000)  # a part file from other bytes: fetched afresh
    summary = HttpDownloader().get_files([stale], progress=False)
    assert summary.sent == 1 and Path(stale.dest).read_bytes() == data


@pytest.mark.s3
def test_get_from_a_seaweedfs_lab_and_its_site(s3_bucket, tmp_path: Path):
    from labs import Dataset, build_stac_tree, make_lab

    lab = make_lab(
        tmp_path,
        [Dataset("chips", "classification_folders", per_class=2)],
        store_url=s3_bucket.url,
        store={"endpoint_url": s3_bucket.endpoint_url},
    )
    first = next(lab.dataset("chips").iter_items())
    assert first["assets"]["image"]["href"].startswith(f"s3://{s3_bucket.bucket}/lab/objects/")
    out = tmp_path / "from-lab"
    result = get("chips", out, lab=lab.root, endpoint_url=s3_bucket.endpoint_url, progress=False)
    assert (result.items, result.downloaded) == (6, 6)

    # the built site, published at the store's root (beside objects/): `eotdl get --lab s3://…`
    site = build_stac_tree(lab)
    store = open_store(s3_bucket.url, endpoint_url=s3_bucket.endpoint_url)
    for path in sorted(site.rglob("*")):
        if path.is_file() and not path.name.startswith("."):
            store.put_named(path.relative_to(site).as_posix(), path, overwrite=True)
    out = tmp_path / "from-site"
    result = get(
        "chips",
        out,
        lab=s3_bucket.url,
        endpoint_url=s3_bucket.endpoint_url,
        progress=False,
    )
    assert (result.items, result.downloaded, result.with_checksum) == (6, 6, 6)

    # a corrupted object in the bucket is caught
    key = first["assets"]["image"]["href"].split(f"s3://{s3_bucket.bucket}/", 1)[1]
    client = s3_bucket.server.client()
    body = client.get_object(Bucket=s3_bucket.bucket, Key=key)["Body"].read()
    client.put_object(Bucket=s3_bucket.bucket, Key=key, Body=body[:-1] + bytes([body[-1] ^ 1]))
    with pytest.raises(TransferError, match="corrupt"):
        get("chips", tmp_path / "bad", lab=lab.root, progress=False)
