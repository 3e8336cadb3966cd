"""`eotdl build --cluster`: each dataset and model folder is built by a worker of a real Dask
cluster (a scheduler and two worker processes on 127.0.0.1) into the staging folder, and the
site is the one a build here writes, byte for byte, full and incremental."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from sitelab import make_site_lab
from synthetic import make_item

from eotdl.builders.ingestion import ingest
from eotdl.catalog.lab import Lab, init_lab
from eotdl.catalog.tree import MANIFEST
from eotdl.cli.main import cli
from eotdl.errors import InputError
from eotdl.site import build as site_build
from eotdl.site.build import build_site
from rastergen import write_mask, write_tif

pytestmark = pytest.mark.slow


def _site(root: Path) -> dict[str, bytes]:
    """Every file of a built site by relative path (the ``objects`` link not followed)."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


@pytest.fixture
def nothing_built_here(monkeypatch):
    """Fail if this process builds a folder itself: the workers must do it."""

    def refuse(*args, **kwargs):
        raise AssertionError("the client built a folder itself")

    def arm():
        monkeypatch.setattr(site_build, "folder_pages", refuse)
        monkeypatch.setattr(site_build.TreeBuilder, "_build_folder", refuse)

    return arm


def test_a_site_built_on_a_cluster_equals_one_built_here(
    dask_cluster, tmp_path, nothing_built_here
):
    lab = make_site_lab(tmp_path / "lab", many=1050)  # over ITEM_PAGES_MAX: list pages only
    here = build_site(lab, qa=False)
    expected = _site(lab.site_dir)
    nothing_built_here()
    there = build_site(lab, qa=False, full=True, cluster=dask_cluster)
    assert there.folders_rebuilt == here.folders_rebuilt == 4
    assert there.items == here.items
    got = _site(lab.site_dir)
    assert sorted(got) == sorted(expected)
    assert got == expected
    assert any(k.endswith("items.parquet") for k in got)


def _raster_lab(root: Path) -> Lab:
    """Rasters and a segmentation (image and mask pairs), ingested with their previews."""
    lab = init_lab(root / "lab")
    tifs, images, masks = root / "tifs", root / "images", root / "masks"
    for n in range(3):
        write_tif(tifs / f"t{n}_20230601.tif", seed=n, size=24, offset=(n * 240.0, 0))
        write_tif(images / f"m{n}.tif", seed=n, bands=3, size=16, offset=(n * 160.0, 0))
        write_mask(masks / f"m{n}.tif", [0, 1, 2], seed=n, size=16, offset=(n * 160.0, 0))
    ingest(lab, "rasters", str(tifs), "tiles", split="random", progress=False)
    options = {"masks": masks, "datetime": "2020-01-01"}
    ingest(lab, "rasters", str(images), "seg", options, split="random", progress=False)
    return lab


def test_a_site_with_qa_built_on_a_cluster_equals_one_built_here(
    dask_cluster, tmp_path, no_bytes_here
):
    """The build's QA runs on the workers as `eotdl qa --cluster` does (raster scans, object
    re-hashing, band statistics): this process opens no raster of the store, and the site is
    the one a build here writes, byte for byte, but for the QA report's engine (where and how
    long) and the manifest's fingerprints of the lab's files and of the reports."""
    lab = _raster_lab(tmp_path)
    here = build_site(lab)
    assert here.qa == {"seg": "ok", "tiles": "ok"}
    expected = _site(lab.site_dir)
    shutil.rmtree(lab.root / ".eotdl" / "qa")  # QA runs again, there
    no_bytes_here(lab)
    there = build_site(lab, full=True, cluster=dask_cluster)
    assert no_bytes_here.reads == []
    assert there.qa == here.qa and not there.warnings
    got = _site(lab.site_dir)
    manifests = [_without_inputs(site.pop(MANIFEST)) for site in (expected, got)]
    for entry in (e for manifest in manifests for e in manifest["folders"].values()):
        assert entry.pop("context")  # digests qa.json, engine included
    assert manifests[0] == manifests[1]
    assert sorted(got) == sorted(expected)
    for name in ("seg", "tiles"):
        path = f"datasets/{name}/qa/qa.json"
        a, b = (json.loads(site.pop(path)) for site in (expected, got))
        assert (a["eda"].pop("engine")["scheduler"], b["eda"].pop("engine")["scheduler"]) == (
            "threads",
            "distributed",
        )
        assert a["eda"]["bands"] and a == b
    assert any(k.endswith(".png") and "/qa/" in k for k in got)  # EDA plots, equal too
    assert got == expected


def test_an_incremental_build_on_a_cluster_equals_one_here(dask_cluster, tmp_path):
    labs = [make_site_lab(tmp_path / name / "lab", many=40) for name in ("here", "there")]
    for lab, cluster in zip(labs, (None, dask_cluster), strict=True):
        build_site(lab, qa=False, cluster=cluster)
        folder = lab.dataset("many-chips")
        items = list(folder.iter_items())
        changed = make_item(3, "many-chips")
        changed["properties"]["ml-aoi:split"] = "train"
        changed["properties"]["title"] = "changed"
        items[3] = changed
        folder.write_items(items)
        summary = build_site(lab, qa=False, cluster=cluster)
        assert summary.folders_reused == 3 and summary.items_written == 1
    here, there = (_site(lab.site_dir) for lab in labs)
    # the build manifest fingerprints its input files by size and mtime: two labs differ there
    assert _without_inputs(here.pop(MANIFEST)) == _without_inputs(there.pop(MANIFEST))
    assert sorted(here) == sorted(there)
    assert here == there


def _without_inputs(manifest: bytes) -> dict:
    data = json.loads(manifest)
    for entry in data["folders"].values():
        assert entry.pop("inputs")
    return data


def test_the_cli_option_and_a_bad_value(dask_cluster, tmp_path):
    lab = make_site_lab(tmp_path / "lab", many=10)
    runner = CliRunner()
    result = runner.invoke(
        cli, ["build", "--lab", str(lab.root), "--no-qa", "--json", "--cluster", dask_cluster]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["folders_rebuilt"] == 4
    result = runner.invoke(cli, ["build", "--lab", str(lab.root), "--cluster", "elsewhere"])
    assert isinstance(result.exception, InputError)
    assert Lab(lab.root).site_dir.is_dir()


def test_a_bad_folder_on_a_worker_is_a_clear_error_and_the_site_stays(dask_cluster, tmp_path):
    lab = make_site_lab(tmp_path / "lab", many=10)
    build_site(lab, qa=False)
    before = _site(lab.site_dir)
    folder = lab.dataset("hostile")
    items = list(folder.iter_items())
    items[0]["assets"] = {"data": {"href": "/home/someone/chip.tif", "type": "image/tiff"}}
    folder.write_items(items)
    with pytest.raises(InputError, match="local path"):
        build_site(lab, qa=False, cluster=dask_cluster)
    assert _site(lab.site_dir) == before
