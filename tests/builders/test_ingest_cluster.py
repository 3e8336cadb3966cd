"""`eotdl ingest --cluster`: on a real Dask cluster (a scheduler and two worker processes on
127.0.0.1) the workers describe, hash and store the files, and the dataset is the one an
ingest here writes, byte for byte: items, collection, card, recipe and store objects."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from eotdl.builders.ingestion import ingest
from eotdl.catalog.lab import init_lab
from eotdl.cli.main import cli
from eotdl.errors import InputError
from eotdl.storage import ObjectStore, uploads
from rastergen import write_mask, write_tif

pytestmark = pytest.mark.slow


def _tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` by relative path (links followed), with its bytes."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".eotdl" not in p.parts
    }


def _dataset(lab_root: Path, name: str) -> dict[str, bytes]:
    found = {f"datasets/{name}/{k}": v for k, v in _tree(lab_root / "datasets" / name).items()}
    found |= {f"store/{k}": v for k, v in _tree(lab_root / "store").items()}
    return found


def _previews(dataset: dict[str, bytes], name: str) -> int:
    """How many items have a preview whose PNG is in the store."""
    lines = dataset[f"datasets/{name}/items.ndjson"].splitlines()
    hrefs = [json.loads(line)["assets"].get("thumbnail", {}).get("href", "") for line in lines]
    return sum(f"store/{h.split('store/', 1)[-1]}" in dataset for h in hrefs if h.endswith(".png"))


def _rasters(folder: Path, count: int = 6) -> Path:
    for n in range(count):
        write_tif(folder / f"s{n:02d}_20230601.tif", seed=n, size=48, offset=(n * 480.0, 0))
    # the same bytes under another name: one object in the store for both
    (folder / "s99_20230601.tif").write_bytes((folder / "s00_20230601.tif").read_bytes())
    return folder


def test_rasters_on_a_cluster_equal_rasters_here(dask_cluster, tmp_path, no_bytes_here):
    source = _rasters(tmp_path / "tifs")
    options = {"chip_size": 32, "overlap": 8, "normalize": True, "indices": ("ndvi",)}
    options |= {"bands": "red=3,nir=4"}
    here = init_lab(tmp_path / "here")
    there = init_lab(tmp_path / "there")
    a = ingest(here, "rasters", str(source), "tiles", options, split="random", progress=False)
    no_bytes_here(there)
    b = ingest(
        there,
        "rasters",
        str(source),
        "tiles",
        options,
        split="random",
        progress=False,
        cluster=dask_cluster,
    )
    assert no_bytes_here.reads == []
    assert b.saved.items == a.saved.items > 7
    assert b.saved.uploaded + b.saved.skipped == a.saved.uploaded + a.saved.skipped
    left, right = _dataset(here.root, "tiles"), _dataset(there.root, "tiles")
    assert sorted(left) == sorted(right)
    assert left == right
    assert _previews(right, "tiles") == a.saved.items  # drawn and stored there


def test_masks_and_a_plain_builder_on_a_cluster(dask_cluster, tmp_path, no_bytes_here):
    images = tmp_path / "images"
    masks = tmp_path / "masks"
    for n in range(4):
        write_tif(images / f"m{n}.tif", seed=n, size=32, offset=(n * 320.0, 0))
        write_mask(masks / f"m{n}.tif", [0, 1, 2 + n % 2], seed=n, size=32, offset=(n * 320.0, 0))
    folders = tmp_path / "folders"
    for c, name in enumerate(["Forest", "River"]):
        for i in range(3):
            write_tif(folders / name / f"{name}_{i}.tif", seed=10 * c + i, bands=3, size=16)
    here = init_lab(tmp_path / "here")
    there = init_lab(tmp_path / "there")
    runs = [
        ("rasters", images, "seg", {"masks": masks, "datetime": "2020-01-01"}),
        ("classification-folders", folders, "cls", {"datetime": "2018-06-01"}),
    ]
    for kind, source, name, options in runs:
        ingest(here, kind, str(source), name, dict(options), progress=False)
    no_bytes_here(there)
    for kind, source, name, options in runs:
        ingest(there, kind, str(source), name, dict(options), progress=False, cluster=dask_cluster)
    assert no_bytes_here.reads == []
    for _, _, name, _ in runs:
        found = _dataset(there.root, name)
        assert _dataset(here.root, name) == found
        assert _previews(found, name) == found[f"datasets/{name}/items.ndjson"].count(b"\n")


def test_a_bad_file_on_a_worker_is_a_clear_error_and_writes_nothing(dask_cluster, tmp_path):
    source = _rasters(tmp_path / "tifs", 3)
    (source / "s01_20230601.tif").write_bytes(b"not a tiff")
    lab = init_lab(tmp_path / "lab")
    with pytest.raises(InputError, match="s01_20230601"):
        ingest(lab, "rasters", str(source), "bad", progress=False, cluster=dask_cluster)
    assert not (lab.root / "datasets" / "bad").exists()


def test_the_cli_option_and_the_lab_setting(dask_cluster, tmp_path):
    source = _rasters(tmp_path / "tifs", 3)
    here = init_lab(tmp_path / "here")
    there = init_lab(tmp_path / "there")
    runner = CliRunner()
    args = ["ingest", "rasters", str(source), "-d", "r", "--no-progress", "--json"]
    result = runner.invoke(cli, [*args, "--lab", str(here.root)])
    assert result.exit_code == 0, result.output
    config = there.root / "eotdl.toml"
    config.write_text(config.read_text() + f'\n[compute]\ncluster = "{dask_cluster}"\n')
    result = runner.invoke(cli, [*args, "--lab", str(there.root)])
    assert result.exit_code == 0, result.output
    assert _dataset(here.root, "r") == _dataset(there.root, "r")
    result = runner.invoke(cli, [*args, "--lab", str(there.root), "--cluster", "nowhere"])
    assert isinstance(result.exception, InputError)
    assert "unknown cluster" in str(result.exception)


def test_workers_store_the_files_in_s3_by_its_url(dask_cluster, s3_bucket, tmp_path):
    """The workers upload to S3 with their own credentials; an ingest here then finds every
    object stored, with the right bytes, and writes the same dataset."""

    from distributed import Client

    from eotdl.catalog.store import open_lab_store

    source = _rasters(tmp_path / "tifs", 4)
    labs = []
    for name in ("there", "here"):
        lab = init_lab(tmp_path / name, store_url=s3_bucket.url)
        config = lab.root / "eotdl.toml"
        text = config.read_text().replace(
            "[store]\n", f'[store]\nendpoint_url = "{s3_bucket.endpoint_url}"\n'
        )
        config.write_text(text)
        labs.append(type(lab)(lab.root))
    there, here = labs
    names = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")
    env = {k: os.environ[k] for k in names}
    with Client(dask_cluster) as client:
        client.run(lambda: os.environ.update(env))
        try:
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(uploads, "sha256_and_size", _refuse)
                patch.setattr(ObjectStore, "put_files", _refuse)
                b = ingest(
                    there, "rasters", str(source), "s3", cluster=dask_cluster, progress=False
                )
        finally:
            client.run(lambda: [os.environ.pop(k, None) for k in names])
    assert b.saved.uploaded == 4 and b.saved.skipped == 1  # s99 is s00's bytes
    a = ingest(here, "rasters", str(source), "s3", progress=False)
    assert a.saved.uploaded == 0 and a.saved.skipped == 5
    for name in ("items.ndjson", "collection.json", "README.md"):
        path = Path("datasets/s3") / name
        assert (here.root / path).read_bytes() == (there.root / path).read_bytes()
    store = open_lab_store(here)
    entries = [(info.key, None, None) for info in store.list("objects/")]
    assert len(entries) == 4
    assert all(check.status == "ok" for check in store.verify_objects(entries, progress=False))


def _refuse(*args, **kwargs):
    raise AssertionError("the client hashed or stored a file itself")
