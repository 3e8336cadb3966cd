"""`eotdl storage repair`: damaged and missing objects put back from their source files, on a
folder store and on SeaweedFS; and a re-ingest that replaces an object of the wrong size."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from eotdl.builders.ingestion import ingest
from eotdl.catalog.assets import verify_lab
from eotdl.catalog.lab import Lab, init_lab
from eotdl.catalog.repair import repair_lab
from eotdl.catalog.store import open_lab_store
from eotdl.errors import InputError
from labs import Dataset, add, make_lab
from rastergen import write_tif

EOTDL = [sys.executable, "-m", "eotdl.cli.main"]


def _lab(tmp_path: Path, store_url: str = "store", endpoint_url: str = "") -> Lab:
    """A lab of three 8×8 rasters whose source stays in ``tmp_path/src``."""
    store = {"endpoint_url": endpoint_url} if endpoint_url else None
    lab = make_lab(tmp_path, store_url=store_url, store=store)
    rasters = Dataset(
        "ds", "rasters", labelled=False, count=3, size=8, stem="a{n}_20230101", spacing=100.0
    )
    add(lab, rasters, tmp_path / "src")
    return lab


def _keys(lab: Lab) -> list[str]:
    """The stored objects of the data (not the PNG previews ingest draws from them: repair
    draws a lost preview again, see the last tests)."""
    return sorted(o.key for o in open_lab_store(lab).list("objects/") if not o.key.endswith(".png"))


def _damage(lab: Lab, key: str) -> None:
    """Overwrite an object with other bytes of the same size (size checks cannot see it)."""
    store = open_lab_store(lab)
    with store.open(key) as handle:
        data = handle.read()
    store.put_named(key, bytes(b ^ 0xFF for b in data), overwrite=True)


def _run(lab: Lab, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*EOTDL, "storage", *args], cwd=lab.root, capture_output=True, text=True, timeout=300
    )


def test_verify_names_repair_and_repair_puts_the_bytes_back(tmp_path):
    lab = _lab(tmp_path)
    damaged, missing = _keys(lab)[:2]
    _damage(lab, damaged)
    open_lab_store(lab).delete(missing)
    verify = _run(lab, "verify")
    assert verify.returncode == 1
    assert "eotdl storage repair" in " ".join(verify.stdout.split())
    repaired = _run(lab, "repair")
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert "2 repaired" in repaired.stdout
    assert verify_lab(lab, progress=False).passed
    assert _run(lab, "verify").returncode == 0


def test_repair_without_the_source_says_where_it_looked_then_uses_from(tmp_path):
    lab = _lab(tmp_path)
    key = _keys(lab)[0]
    _damage(lab, key)
    kept = tmp_path / "elsewhere"
    shutil.move(tmp_path / "src", kept)
    report = repair_lab(lab, progress=False)
    assert not report.passed and not report.repaired
    [problem] = report.unrepaired
    assert problem.key == key and "--from DIR" in problem.message
    run = _run(lab, "repair", "ds")
    assert run.returncode == 1 and "--from DIR" in " ".join(run.stdout.split())
    report = repair_lab(lab, ["ds"], [kept], progress=False)
    assert report.passed and list(report.repaired) == [key]
    assert verify_lab(lab, progress=False).passed


def test_repair_of_an_unknown_dataset_is_refused(tmp_path):
    lab = _lab(tmp_path)
    with pytest.raises(InputError, match="no dataset or model named 'nope'"):
        repair_lab(lab, ["nope"], progress=False)


def test_reingest_replaces_an_object_of_the_wrong_size(tmp_path):
    lab = _lab(tmp_path)
    key = _keys(lab)[0]
    store = open_lab_store(lab)
    store.put_named(key, b"truncated", overwrite=True)
    result = ingest(lab, "rasters", str(tmp_path / "src"), "ds", progress=False)
    assert result.saved.uploaded == 1
    assert verify_lab(lab, progress=False).passed


@pytest.mark.s3
def test_repair_on_seaweedfs(tmp_path, s3_bucket):
    lab = _lab(tmp_path, s3_bucket.url, s3_bucket.endpoint_url)
    key = _keys(lab)[1]
    _damage(lab, key)
    assert not verify_lab(lab, progress=False).passed
    report = repair_lab(lab, progress=False)
    assert report.passed and list(report.repaired) == [key]
    assert verify_lab(lab, progress=False).passed


def test_repair_makes_derived_chips_again_from_the_recipe(tmp_path):
    from eotdl.builders.repair import repair_store

    lab = init_lab(tmp_path / "lab")
    source = tmp_path / "src"
    write_tif(source / "scene_20230101.tif", seed=1, size=16)
    ingest(lab, "rasters", str(source), "chips", {"chip_size": 8}, progress=False)
    keys = _keys(lab)
    assert len(keys) == 4  # four chips: none of them is a file of the source folder
    _damage(lab, keys[2])
    open_lab_store(lab).delete(keys[3])
    assert not repair_lab(lab, progress=False).passed  # the sources alone cannot help
    report = repair_store(lab, progress=False)
    assert report.passed and sorted(report.repaired) == keys[2:]
    assert verify_lab(lab, progress=False).passed
    assert list((lab.root / ".eotdl" / "tmp").iterdir()) == []


def test_repair_draws_lost_previews_again(tmp_path):
    """A preview PNG lost from the store is drawn again from its image: the same bytes."""
    lab = _lab(tmp_path)
    store = open_lab_store(lab)
    previews = sorted(o.key for o in store.list("objects/") if o.key.endswith(".png"))
    assert len(previews) == 3
    store.delete(previews[0])
    _damage(lab, previews[1])
    report = repair_lab(lab, progress=False)
    assert report.passed, report.to_dict()
    assert sorted(report.repaired) == previews[:2]
    assert "previews of ds drawn again" in report.searched
    assert verify_lab(lab, progress=False).passed
    assert list((lab.root / ".eotdl" / "tmp").iterdir()) == []


def test_a_preview_whose_image_is_lost_too_is_reported_not_guessed(tmp_path):
    lab = _lab(tmp_path)
    store = open_lab_store(lab)
    previews = sorted(o.key for o in store.list("objects/") if o.key.endswith(".png"))
    for key in [*_keys(lab), *previews]:
        store.delete(key)
    shutil.rmtree(tmp_path / "src")  # nothing to find the images in either
    report = repair_lab(lab, progress=False)
    assert not report.passed and not report.repaired
    assert {p.key for p in report.unrepaired} == {*_keys_declared(lab)}


def _keys_declared(lab: Lab) -> list[str]:
    from eotdl.catalog.assets import iter_lab_assets

    return sorted({ref.store_key for ref in iter_lab_assets(lab) if ref.store_key})
