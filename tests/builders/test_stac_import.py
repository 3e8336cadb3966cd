"""The ``stac`` builder: real MLHub catalogs, http and s3 sources, archives, migration, safety."""

from __future__ import annotations

import io
import json
import shutil
import socket
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import pytest
from cases.stac import write_catalog

from eotdl.builders.ingestion import ingest
from eotdl.builders.stac_archive import extract_archive
from eotdl.builders.stac_import import StacImportWarning
from eotdl.builders.stac_migrate import migrate
from eotdl.catalog.lab import Lab, init_lab
from eotdl.catalog.validate import Validator, validate_target
from eotdl.errors import InputError
from eotdl.storage.hashing import multihash_sha256, sha256_and_size
from shareddata import EXAMPLES, needs_shared

OPEN_CITIES = (
    EXAMPLES
    / "mlhub-open-cities-label-catalog/tests/data-files/catalogs/label_catalog-v0.8.1/catalog.json"
)
SU_SAR = EXAMPLES / "mlhub-su-sar-moisture/su_sar_moisture_content_main.tar.gz"


@pytest.fixture(autouse=True)
def _no_internet(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only loopback resolves: the real catalogs' remote assets fail fast, as offline."""
    real = socket.getaddrinfo

    def loopback_only(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in ("127.0.0.1", "localhost", "::1", None):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", loopback_only)


def _ingest(tmp_path: Path, source: str | Path, name: str = "lab", **options: Any) -> Lab:
    lab = init_lab(tmp_path / name)
    ingest(lab, "stac", str(source), "ds", options, progress=False)
    return lab


def _items(lab: Lab) -> list[dict[str, Any]]:
    return list(lab.dataset("ds").iter_items())


def _assert_valid(lab: Lab) -> None:
    report = validate_target(str(lab.root))
    assert report.ok, "\n".join(p.format() for p in report.problems[:5])
    for item in _items(lab):
        assert item["stac_version"] == "1.0.0"
        assert all("://" in e for e in item["stac_extensions"])


# -- the real inputs ---------------------------------------------------------------------


def test_open_cities_reports_every_unreachable_asset(tmp_path: Path) -> None:
    needs_shared(OPEN_CITIES)
    lab = init_lab(tmp_path / "lab")
    with pytest.raises(InputError) as caught:
        ingest(lab, "stac", str(OPEN_CITIES), "ds", {}, progress=False)
    message = caught.value.message
    assert message.startswith("62 asset(s) could not be fetched")
    assert "item '3b20d4-labels': asset 'image': https://" in message
    assert "item '3b20d4-labels': asset 'labels': https://" in message
    assert "--allow-missing-assets" in (caught.value.hint or "")
    assert not lab.dataset("ds").exists()


def test_open_cities_skip_assets_keeps_remote_hrefs(tmp_path: Path, shared_mirror: Path) -> None:
    needs_shared(OPEN_CITIES)
    lab = _ingest(tmp_path, OPEN_CITIES, skip_assets=True)
    _assert_valid(lab)
    items = _items(lab)
    assert len(items) == 31  # one per label item, the imagery flattened in
    item = next(i for i in items if i["id"] == "3b20d4-labels")
    assert set(item["assets"]) == {"labels", "image"}
    assert item["assets"]["image"]["href"].endswith("/znz/3b20d4/3b20d4.tif")
    assert item["assets"]["labels"]["roles"] == ["labels"]
    assert item["properties"]["eotdl:source_ids"] == ["3b20d4"]
    assert item["properties"]["label:classes"] == [{"name": "building", "classes": ["yes"]}]
    assert [link["rel"] for link in item["links"]] == ["source", "collection"]
    collection = lab.dataset("ds").read_collection()
    assert "STAC 0.8.1 and 1.0.0-rc.3" in collection["description"]


def test_open_cities_allow_missing_assets(tmp_path: Path, shared_mirror: Path) -> None:
    needs_shared(OPEN_CITIES)
    with pytest.warns(StacImportWarning, match="62 asset"):
        lab = _ingest(tmp_path, OPEN_CITIES, allow_missing_assets=True)
    _assert_valid(lab)
    items = _items(lab)
    assert len(items) == 31 and all(i["assets"] == {} for i in items)
    description = lab.dataset("ds").read_collection()["description"]
    assert "62 asset(s) could not be fetched and were left out" in description
    assert "'image' of 31 item(s)" in description


def test_su_sar_archive(tmp_path: Path, shared_mirror: Path) -> None:
    needs_shared(SU_SAR)
    with pytest.raises(InputError, match="(?s)8 asset.*'documentation'"):
        _ingest(tmp_path, SU_SAR, name="strict")
    lab = _ingest(tmp_path, SU_SAR, assets=("labels", "training_features_descriptions"))
    _assert_valid(lab)
    items = _items(lab)
    assert [i["id"] for i in items] == [f"su_sar_moisture_content_000{n}" for n in range(1, 9)]
    item = items[0]
    assert item["properties"]["label:description"]  # empty in the source: invalid in 1.0
    assert item["properties"]["label:properties"] == ["percent(t)"]
    labels = item["assets"]["labels"]
    assert labels["roles"] == ["labels"] and labels["file:checksum"].startswith("1220")
    # the archive's labels.geojson, kept byte for byte
    store = lab.root / "store"
    stored = next(store.rglob(labels["href"].rsplit("/", 1)[-1]))
    with tarfile.open(SU_SAR) as tar:
        member = tar.extractfile(
            "su_sar_moisture_content_main/su_sar_moisture_content/"
            "su_sar_moisture_content_0001/labels.geojson"
        )
        assert member is not None and member.read() == stored.read_bytes()
    collection = lab.dataset("ds").read_collection()
    assert collection["license"] == "CC-BY-NC-ND-4.0"
    assert collection["sci:doi"] == "10.1016/j.rse.2020.111797"


def test_su_sar_archive_is_deterministic(tmp_path: Path, shared_mirror: Path) -> None:
    needs_shared(SU_SAR)
    with pytest.warns(StacImportWarning):
        first = _ingest(tmp_path, SU_SAR, name="a", allow_missing_assets=True)
    with pytest.warns(StacImportWarning):
        second = _ingest(tmp_path, SU_SAR, name="b", allow_missing_assets=True)
    _assert_valid(first)
    a = first.dataset("ds").items_path.read_bytes()
    assert a == second.dataset("ds").items_path.read_bytes()
    assert all(
        set(i["assets"]) == {"labels", "training_features_descriptions"} for i in _items(first)
    )


# -- local, http, s3 ----------------------------------------------------------------------


def test_local_catalog_is_migrated_and_flattened(tmp_path: Path, shared_mirror: Path) -> None:
    catalog = write_catalog(tmp_path / "cat")
    lab = _ingest(tmp_path, catalog)
    _assert_valid(lab)
    items = _items(lab)
    assert [i["id"] for i in items] == [f"scene_{n}-labels" for n in range(4)]
    item = items[1]
    props = item["properties"]
    assert props["label:properties"] == ["class"] and props["label:tasks"] == ["classification"]
    assert isinstance(props["label:overviews"], list)
    assert props["gsd"] == 10 and props["platform"] == "sentinel-2a"  # eo:* became common
    image = item["assets"]["image"]
    assert image["eo:bands"][1] == {"name": "B08", "common_name": "nir"}  # was an index
    assert image["ml-aoi:role"] == "feature" and image["datetime"] == "2021-03-05T10:00:00Z"
    sha, size = sha256_and_size(tmp_path / "cat/source/scene_1/image.tif")
    assert image["file:checksum"] == multihash_sha256(sha) and image["file:size"] == size
    assert item["links"][0]["href"] == image["href"]


def test_keep_unlabelled_and_plain_catalogs(tmp_path: Path, shared_mirror: Path) -> None:
    catalog = write_catalog(tmp_path / "cat", n=3)
    extra = json.loads((tmp_path / "cat/source/scene_0/scene_0.json").read_text())
    extra["id"] = "unlabelled"
    (tmp_path / "cat/source/unlabelled.json").write_text(json.dumps(extra))
    (tmp_path / "cat/source/unlabelled.json").parent.joinpath("image.tif").write_bytes(
        (tmp_path / "cat/source/scene_0/image.tif").read_bytes()
    )
    collection = json.loads((tmp_path / "cat/source/collection.json").read_text())
    collection["links"].append({"rel": "item", "href": "./unlabelled.json"})
    (tmp_path / "cat/source/collection.json").write_text(json.dumps(collection))
    with pytest.warns(StacImportWarning, match="1 item.* left out"):
        lab = _ingest(tmp_path, catalog, name="a")
    assert len(_items(lab)) == 3
    lab = _ingest(tmp_path, catalog, name="b", keep_unlabelled=True)
    assert "unlabelled" in {i["id"] for i in _items(lab)}

    plain = tmp_path / "cat/source/collection.json"  # a collection of imagery only
    lab = _ingest(tmp_path, plain, name="c")
    _assert_valid(lab)
    assert sorted(i["id"] for i in _items(lab)) == ["scene_0", "scene_1", "scene_2", "unlabelled"]


def test_same_ids_in_two_collections_get_their_collection(tmp_path: Path) -> None:
    catalog = write_catalog(tmp_path / "cat", n=2)
    shutil.copytree(tmp_path / "cat/labels", tmp_path / "cat/more")
    collection = json.loads((tmp_path / "cat/more/collection.json").read_text())
    collection["id"] = "more"
    (tmp_path / "cat/more/collection.json").write_text(json.dumps(collection))
    root = json.loads(catalog.read_text())
    root["links"].append({"rel": "child", "href": "./more/collection.json"})
    catalog.write_text(json.dumps(root))
    ids = sorted(i["id"] for i in _items(_ingest(tmp_path, catalog)))
    assert ids == [f"{c}-scene_{n}-labels" for c in ("labels", "more") for n in (0, 1)]


def test_http_catalog_fetches_assets(http_dir: Any, tmp_path: Path, shared_mirror: Path) -> None:
    write_catalog(http_dir.root, version="1.0.0")
    lab = _ingest(tmp_path, f"{http_dir.url}/catalog.json")
    _assert_valid(lab)
    items = _items(lab)
    assert len(items) == 4
    assert any(r.endswith("/source/scene_2/image.tif") for r in http_dir.requests)
    for item in items:
        n = item["id"].split("_")[1].split("-")[0]
        sha, _ = sha256_and_size(http_dir.root / f"source/scene_{n}/image.tif")
        assert item["assets"]["image"]["file:checksum"] == multihash_sha256(sha)
        assert not item["assets"]["image"]["href"].startswith("http")
    # the same catalog read from disk gives the same items, byte for byte
    local = _ingest(tmp_path, http_dir.root / "catalog.json", name="local")
    assert local.dataset("ds").items_path.read_bytes() == lab.dataset("ds").items_path.read_bytes()


def test_http_404_is_reported(http_dir: Any, tmp_path: Path, shared_mirror: Path) -> None:
    write_catalog(http_dir.root, version="1.0.0")
    (http_dir.root / "source/scene_2/image.tif").unlink()
    (http_dir.root / "labels/scene_3-labels/labels.geojson").unlink()
    url = f"{http_dir.url}/catalog.json"
    with pytest.raises(InputError) as caught:
        _ingest(tmp_path, url)
    message = caught.value.message
    assert message.startswith("2 asset(s) could not be fetched")
    assert (
        f"item 'scene_2-labels': asset 'image': {http_dir.url}/source/scene_2/image.tif:"
        " HTTP 404" in message
    )
    assert "item 'scene_3-labels': asset 'labels'" in message
    with pytest.warns(StacImportWarning, match="2 asset"):
        lab = _ingest(tmp_path, url, name="lenient", allow_missing_assets=True)
    _assert_valid(lab)
    item = next(i for i in _items(lab) if i["id"] == "scene_2-labels")
    assert set(item["assets"]) == {"labels"}
    assert [link["rel"] for link in item["links"]] == ["collection"]


def test_skip_assets_over_http_uploads_nothing(http_dir: Any, tmp_path: Path) -> None:
    write_catalog(http_dir.root, n=2, version="1.0.0")
    lab = init_lab(tmp_path / "lab")
    result = ingest(
        lab, "stac", f"{http_dir.url}/catalog.json", "ds", {"skip_assets": True}, progress=False
    )
    assert result.saved.uploaded == 0
    hrefs = {a["href"] for i in _items(lab) for a in i["assets"].values()}
    assert hrefs and all(h.startswith(http_dir.url) for h in hrefs)
    assert not any(r.endswith(".tif") for r in http_dir.requests)


def test_assets_filter(tmp_path: Path) -> None:
    catalog = write_catalog(tmp_path / "cat", n=2)
    lab = _ingest(tmp_path, catalog, assets=("labels",))
    assert all(set(i["assets"]) == {"labels"} for i in _items(lab))
    with pytest.raises(InputError, match="--assets imagery: no item") as caught:
        _ingest(tmp_path, catalog, name="typo", assets=("imagery",))
    assert "image, labels" in (caught.value.hint or "")


def test_unsupported_scheme_is_reported(tmp_path: Path) -> None:
    catalog = write_catalog(tmp_path / "cat", n=2)
    path = tmp_path / "cat/source/scene_0/scene_0.json"
    item = json.loads(path.read_text())
    item["assets"]["image"]["href"] = "ftp://example.com/scene_0.tif"
    path.write_text(json.dumps(item))
    with pytest.raises(InputError, match="ftp://example.com/scene_0.tif: ftp:// not supported"):
        _ingest(tmp_path, catalog)
    lab = _ingest(tmp_path, catalog, name="kept", skip_assets=True)
    item = next(i for i in _items(lab) if i["id"] == "scene_0-labels")
    assert item["assets"]["image"]["href"] == "ftp://example.com/scene_0.tif"
    assert item["properties"]["eotdl:original_collection"] == "labels"


def test_s3_catalog(s3_bucket: Any, tmp_path: Path, shared_mirror: Path) -> None:
    folder = tmp_path / "cat"
    write_catalog(folder, n=2, version="1.0.0")
    client = s3_bucket.server.client()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        key = f"imports/cat/{path.relative_to(folder).as_posix()}"
        client.put_object(Bucket=s3_bucket.bucket, Key=key, Body=path.read_bytes())
    source = f"s3://{s3_bucket.bucket}/imports/cat/catalog.json"
    lab = _ingest(tmp_path, source, endpoint_url=s3_bucket.endpoint_url)
    _assert_valid(lab)
    local = _ingest(tmp_path, folder / "catalog.json", name="local")
    assert local.dataset("ds").items_path.read_bytes() == lab.dataset("ds").items_path.read_bytes()

    # a local catalog whose asset is an absolute s3:// URL
    path = folder / "source/scene_0/scene_0.json"
    item = json.loads(path.read_text())
    item["assets"]["image"]["href"] = (
        f"s3://{s3_bucket.bucket}/imports/cat/source/scene_0/image.tif"
    )
    path.write_text(json.dumps(item))
    (folder / "source/scene_0/image.tif").unlink()
    mixed = _ingest(tmp_path, folder, name="mixed", endpoint_url=s3_bucket.endpoint_url)
    assert mixed.dataset("ds").items_path.read_bytes() == lab.dataset("ds").items_path.read_bytes()


# -- safety -------------------------------------------------------------------------------


def test_asset_path_traversal_is_refused(tmp_path: Path) -> None:
    catalog = write_catalog(tmp_path / "cat", n=2)
    (tmp_path / "secret.tif").write_bytes(b"not yours")
    path = tmp_path / "cat/source/scene_1/scene_1.json"
    item = json.loads(path.read_text())
    item["assets"]["image"]["href"] = "../../../secret.tif"
    path.write_text(json.dumps(item))
    with pytest.raises(
        InputError,
        match="scene_1.json: asset 'image': '../../../secret.tif'"
        " points outside the catalog's folder",
    ):
        _ingest(tmp_path, catalog)
    item["assets"]["image"]["href"] = str(tmp_path / "secret.tif")  # absolute, same thing
    path.write_text(json.dumps(item))
    with pytest.raises(InputError, match="path traversal"):
        _ingest(tmp_path, catalog, name="absolute")


def test_link_path_traversal_is_refused_before_reading(tmp_path: Path) -> None:
    catalog = write_catalog(tmp_path / "cat", n=1)
    (tmp_path / "outside.json").write_text("this is not JSON: reading it would fail otherwise")
    root = json.loads(catalog.read_text())
    root["links"].append({"rel": "child", "href": "../outside.json"})
    catalog.write_text(json.dumps(root))
    with pytest.raises(InputError, match="'../outside.json' points outside the catalog"):
        _ingest(tmp_path, catalog)


def test_remote_catalog_cannot_point_at_local_files(http_dir: Any, tmp_path: Path) -> None:
    write_catalog(http_dir.root, n=1, version="1.0.0")
    path = http_dir.root / "source/scene_0/scene_0.json"
    item = json.loads(path.read_text())
    item["assets"]["image"]["href"] = "file:///etc/passwd"
    path.write_text(json.dumps(item))
    with pytest.raises(InputError, match="local path in a remote catalog"):
        _ingest(tmp_path, f"{http_dir.url}/catalog.json")


def _tar(path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def _file(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def _link(name: str, target: str, kind: bytes) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info, None


@pytest.mark.parametrize(
    ("member", "message"),
    [
        (_file("../escaped.json", b"{}"), "climbs out of the archive"),
        (_file("cat/../../escaped.json", b"{}"), "climbs out of the archive"),
        (_file("/tmp/absolute.json", b"{}"), "absolute path"),
        (_link("cat/link.json", "/etc/passwd", tarfile.SYMTYPE), "is a link"),
        (_link("cat/hard.json", "/etc/passwd", tarfile.LNKTYPE), "is a link"),
    ],
)
def test_tar_members_leaving_the_folder_are_refused(
    tmp_path: Path, member: tuple[tarfile.TarInfo, bytes | None], message: str
) -> None:
    archive = _tar(tmp_path / "bad.tar.gz", [_file("cat/catalog.json", b"{}"), member])
    with pytest.raises(InputError, match=message):
        _ingest(tmp_path, archive)
    assert not (tmp_path / "escaped.json").exists()
    assert not list((tmp_path / "lab").rglob("catalog.json"))  # nothing was extracted


def test_zip_members_leaving_the_folder_are_refused(tmp_path: Path) -> None:
    archive = tmp_path / "bad.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("cat/catalog.json", "{}")
        zf.writestr("../escaped.json", "{}")
    with pytest.raises(InputError, match="climbs out"):
        _ingest(tmp_path, archive)
    assert not (tmp_path / "escaped.json").exists()


def test_archive_size_bomb_is_refused(tmp_path: Path) -> None:
    archive = _tar(tmp_path / "bomb.tar.gz", [_file("cat/zeros.bin", bytes(3 << 20))])
    assert archive.stat().st_size < 50_000
    with pytest.raises(InputError, match="more than 1 MiB"):
        _ingest(tmp_path, archive, max_extract_mb=1)
    with pytest.raises(InputError, match="more than 2 MiB"):
        extract_archive(archive, tmp_path / "out", 2 << 20)


@pytest.mark.parametrize("suffix", [".tar.gz", ".zip"])
def test_archives_import_like_folders(tmp_path: Path, suffix: str) -> None:
    write_catalog(tmp_path / "pack" / "tiny", n=2)
    (tmp_path / "pack" / "__MACOSX").mkdir()
    (tmp_path / "pack" / "__MACOSX" / "catalog.json").write_text("junk")
    base = shutil.make_archive(
        str(tmp_path / "tiny"), "gztar" if suffix == ".tar.gz" else "zip", tmp_path / "pack"
    )
    lab = _ingest(tmp_path, base, name="archive")
    folder = _ingest(tmp_path, tmp_path / "pack" / "tiny", name="folder")
    assert lab.dataset("ds").items_path.read_bytes() == folder.dataset("ds").items_path.read_bytes()


# -- migration ------------------------------------------------------------------------------


def test_migrates_0_8_label_item(shared_mirror: Path) -> None:
    item = {
        "type": "Feature",
        "stac_version": "0.8.1",
        "id": "a-labels",
        "stac_extensions": ["label", "checksum", "something-unknown"],
        "geometry": {"type": "Point", "coordinates": [1.0, 2.0]},
        "properties": {
            "datetime": "2019-01-01T00:00:00Z",
            "label:description": "",
            "label:type": "vector",
            "label:property": "class",
            "label:task": "classification",
            "label:method": ["manual"],
            "label:overview": {"property_key": "class", "counts": [{"name": "a", "count": 3}]},
            "label:classes": [{"name": "class", "classes": ["a", "b"]}],
        },
        "links": [],
        "assets": {"labels": {"href": "labels.geojson"}},
    }
    out = migrate(item, "a-labels.json")
    assert out["stac_version"] == "1.0.0"
    assert out["bbox"] == [1.0, 2.0, 1.0, 2.0]
    props = out["properties"]
    assert props["label:properties"] == ["class"] and props["label:tasks"] == ["classification"]
    assert props["label:methods"] == ["manual"] and props["label:description"] == "labels"
    assert props["label:overviews"] == [item["properties"]["label:overview"]]
    assert out["stac_extensions"] == ["https://stac-extensions.github.io/label/v1.0.1/schema.json"]
    assert Validator().validate_object(out, "a-labels.json") == []
    assert item["stac_version"] == "0.8.1"  # the input is left alone


def test_migrates_1_1_bands_down_to_1_0(shared_mirror: Path) -> None:
    item = {
        "type": "Feature",
        "stac_version": "1.1.0",
        "id": "x",
        "stac_extensions": [
            "https://stac-extensions.github.io/eo/v2.0.0/schema.json",
            "https://stac-extensions.github.io/raster/v2.0.0/schema.json",
        ],
        "geometry": None,
        "properties": {"datetime": "2024-01-01T00:00:00Z"},
        "links": [],
        "assets": {
            "image": {
                "href": "x.tif",
                "bands": [
                    {"name": "B04", "eo:common_name": "red", "nodata": 0, "data_type": "uint16"},
                    {"name": "B08", "eo:common_name": "nir", "nodata": 0, "data_type": "uint16"},
                ],
            }
        },
    }
    out = migrate(item, "x.json")
    image = out["assets"]["image"]
    assert "bands" not in image
    assert image["eo:bands"] == [
        {"name": "B04", "common_name": "red"},
        {"name": "B08", "common_name": "nir"},
    ]
    assert image["raster:bands"] == [{"nodata": 0, "data_type": "uint16"}] * 2
    assert out["stac_extensions"] == [
        "https://stac-extensions.github.io/eo/v1.1.0/schema.json",
        "https://stac-extensions.github.io/raster/v1.1.0/schema.json",
    ]
    assert Validator().validate_object(out, "x.json") == []
