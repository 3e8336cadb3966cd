"""`--download`: fetched from a server on 127.0.0.1 (never the network), resumed, verified.

The archive is a zip of the EuroSAT miniature, served by ``tests/httpserver.py``; the recipe's
URLs are redirected to it with ``EOTDL_RECIPES_MIRROR`` or given directly.
"""

from __future__ import annotations

import hashlib
import os
import socket
import time
import zipfile
from pathlib import Path

import pytest

from builders.recipes.miniatures import eurosat
from eotdl.builders.ingestion import ingest
from eotdl.builders.recipes.eurosat import MS_FACTS
from eotdl.builders.recipes.facts import Download
from eotdl.builders.recipes.fetch import MIRROR_ENV, fetch, fetch_files
from eotdl.catalog.lab import init_lab
from eotdl.cli.main import main
from eotdl.errors import InputError


def _archive(tmp_path: Path, www: Path) -> tuple[Path, str]:
    """EuroSAT_MS.zip (the miniature, 2 chips per class) in ``www``; its MD5."""
    source = eurosat(tmp_path / "mini", per_class=2, splits=False)
    archive = www / "EuroSAT_MS.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted((source / "EuroSAT_MS").rglob("*.tif")):
            zf.write(path, path.relative_to(source).as_posix())
    return archive, hashlib.md5(archive.read_bytes()).hexdigest()


def test_download_verifies_unpacks_and_ingests(tmp_path: Path, http_dir, monkeypatch):
    archive, md5 = _archive(tmp_path, http_dir.root)
    dest = tmp_path / "eurosat"
    done = fetch_files(
        [Download("EuroSAT_MS.zip", f"{http_dir.url}/EuroSAT_MS.zip", md5, extract=True)],
        dest,
        progress=False,
    )
    assert done == [dest / "EuroSAT_MS.zip"]
    assert len(list((dest / "EuroSAT_MS").rglob("*.tif"))) == 20
    lab = init_lab(tmp_path / "lab")
    result = ingest(lab, "eurosat", str(dest), "eurosat", progress=False)
    assert result.saved.items == 20

    http_dir.reset()  # a second run finds everything in place: nothing is fetched
    fetch_files(
        [Download("EuroSAT_MS.zip", f"{http_dir.url}/EuroSAT_MS.zip", md5, extract=True)],
        dest,
        progress=False,
    )
    assert http_dir.requests == [] and archive.exists()


def test_an_interrupted_download_resumes_where_it_stopped(tmp_path: Path, http_dir):
    archive, md5 = _archive(tmp_path, http_dir.root)
    data = archive.read_bytes()
    dest = tmp_path / "eurosat"
    dest.mkdir()
    half = len(data) // 2
    (dest / ".EuroSAT_MS.zip.part").write_bytes(data[:half])
    fetch_files(
        [Download("EuroSAT_MS.zip", f"{http_dir.url}/EuroSAT_MS.zip", md5)], dest, progress=False
    )
    _settled(http_dir)
    assert http_dir.bytes_sent == len(data) - half
    assert (dest / "EuroSAT_MS.zip").read_bytes() == data
    assert not (dest / ".EuroSAT_MS.zip.part").exists()


def _settled(served, limit: float = 10.0) -> None:
    """The server counts its bytes after the client has them: wait until it has counted."""
    deadline = time.monotonic() + limit
    while not served.bytes_sent and time.monotonic() < deadline:
        time.sleep(0.01)


def test_a_checksum_mismatch_is_an_error_and_leaves_no_file(tmp_path: Path, http_dir):
    _archive(tmp_path, http_dir.root)
    dest = tmp_path / "eurosat"
    with pytest.raises(InputError, match="MD5 .* instead of the published 0+"):
        fetch_files(
            [Download("EuroSAT_MS.zip", f"{http_dir.url}/EuroSAT_MS.zip", "0" * 32)],
            dest,
            progress=False,
        )
    assert not (dest / "EuroSAT_MS.zip").exists()
    assert not (dest / "EuroSAT_MS").exists()


def test_the_mirror_serves_the_published_names_and_the_md5s_still_apply(
    tmp_path: Path, http_dir, monkeypatch, capsys
):
    """The recipe's own MD5s guard a mirror too: the fake archive is refused by the CLI."""
    _archive(tmp_path, http_dir.root)
    for d in MS_FACTS.downloads[1:]:
        (http_dir.root / d.filename).write_text("AnnualCrop_1.jpg\n")
    monkeypatch.setenv(MIRROR_ENV, http_dir.url)
    init_lab(tmp_path / "lab")
    with pytest.raises(SystemExit) as exit_info:
        main(["ingest", "eurosat", "--download", str(tmp_path / "dl"), "-d", "eurosat",
              "--lab", str(tmp_path / "lab"), "--no-progress"])  # fmt: skip
    assert exit_info.value.code != 0
    err = capsys.readouterr().err
    assert "instead of the published" in err and "Traceback" not in err
    assert "/EuroSAT_MS.zip" in http_dir.requests
    assert not (tmp_path / "lab" / "datasets" / "eurosat").exists()


def test_without_a_network_it_says_so(tmp_path: Path, monkeypatch):
    monkeypatch.delenv(MIRROR_ENV, raising=False)
    monkeypatch.setenv("EOTDL_OFFLINE", "1")
    with pytest.raises(InputError, match="no network"):
        fetch(MS_FACTS, tmp_path / "dl", progress=False)
    assert not (tmp_path / "dl").exists()


def test_an_unreachable_server_is_a_clear_error(tmp_path: Path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed once the block ends: nothing listens there
    with pytest.raises(InputError, match="could not download 1 file"):
        fetch_files(
            [Download("EuroSAT_MS.zip", f"http://127.0.0.1:{port}/EuroSAT_MS.zip", "0" * 32)],
            tmp_path / "dl",
            progress=False,
        )
    assert os.listdir(tmp_path / "dl") in ([], [".EuroSAT_MS.zip.part"])  # kept to resume


def test_a_recipe_without_published_checksums_says_how_to_get_it(tmp_path: Path):
    from eotdl.builders.recipes.eurosat import RGB_FACTS

    with pytest.raises(InputError, match="knows no published download") as error:
        fetch(RGB_FACTS, tmp_path / "dl", progress=False)
    assert "https://github.com/phelber/EuroSAT" in (error.value.hint or "")
