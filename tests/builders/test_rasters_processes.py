"""The rasters builder shares its files among forked processes: same items, in order, each
file hashed once, and a bad file stops the run with its own message."""

import sys
from pathlib import Path

import pytest

from eotdl.builders import rasters
from eotdl.builders.ingestion import ingest
from eotdl.builders.rasters import RastersBuilder
from eotdl.catalog.lab import init_lab
from eotdl.errors import InputError
from rastergen import write_tif

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the process pool forks (Linux only)"
)


def _folder(tmp_path, count=12):
    folder = tmp_path / "tifs"
    for index in range(count):
        write_tif(folder / f"t{index:02d}_20230601.tif", seed=index, offset=(index * 640.0, 0))
    return folder


def test_processes_give_the_items_of_one_thread(tmp_path, monkeypatch):
    folder = _folder(tmp_path)
    pools: list[int] = []
    real = rasters._in_processes

    def counting(builder, files, processes):
        pools.append(processes)
        return real(builder, files, processes)

    monkeypatch.setattr(rasters, "_in_processes", counting)
    monkeypatch.setattr(rasters, "_processes", lambda workers, files: 1 if workers == 1 else 2)
    one = list(RastersBuilder(str(folder), "ds", tmp_path / "w1", workers=1).items())
    assert pools == []
    several = list(RastersBuilder(str(folder), "ds", tmp_path / "w2").items())
    assert pools == [2]
    assert several == one
    assert [i["id"] for i in several] == [f"t{n:02d}_20230601" for n in range(12)]


def test_each_file_is_hashed_once(tmp_path, monkeypatch):
    """The workers' hashes reach the upload through the hash cache: it reads no file."""
    from eotdl.storage import uploads

    folder = _folder(tmp_path, 6)
    lab = init_lab(tmp_path / "lab")
    monkeypatch.setattr(rasters, "_processes", lambda workers, files: 2)
    hashed: list[str] = []
    real = uploads.sha256_and_size

    def counting(path):
        hashed.append(str(path))
        return real(path)

    monkeypatch.setattr(uploads, "sha256_and_size", counting)
    result = ingest(lab, "rasters", str(folder), "ds", progress=False)
    assert result.saved.items == 6 and result.saved.uploaded == 6
    # the sources were hashed by the workers; what the upload hashes is only the previews
    # drawn after the save (one PNG each)
    assert [Path(p).suffix for p in hashed] == [".png"] * 6


def test_a_bad_file_stops_the_processes_with_its_name(tmp_path, monkeypatch):
    folder = _folder(tmp_path, 8)
    (folder / "t03_20230601.tif").write_bytes(b"not a tiff")
    monkeypatch.setattr(rasters, "_processes", lambda workers, files: 2)
    with pytest.raises(InputError, match="t03_20230601.tif"):
        list(RastersBuilder(str(folder), "ds", tmp_path / "w").items())
