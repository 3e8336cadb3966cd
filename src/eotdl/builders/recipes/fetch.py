"""Fetching a recipe's published files: resumable, checked against the published MD5s.

Bytes come through the project's HTTP downloader
(:class:`eotdl.catalog.http_downloads.HttpDownloader`: streamed into ``.NAME.part``, resumed
with a ``Range`` request after an interruption, renamed into place when complete); each file
is then checked against the MD5 its publisher lists, and archives are unpacked beside it.
``EOTDL_RECIPES_MIRROR=URL`` fetches every file from ``URL/<filename>`` instead (a local
mirror, or a test server). With ``EOTDL_OFFLINE`` set, only loopback URLs (a local mirror)
are fetched: there is no network to reach.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.parse
import zipfile
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from eotdl.builders.recipes.facts import Download, Facts
from eotdl.errors import InputError

MIRROR_ENV = "EOTDL_RECIPES_MIRROR"
OFFLINE_ENV = "EOTDL_OFFLINE"
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def fetch(facts: Facts, dest: Path, *, mirror: str | None = None, progress: bool = True) -> None:
    """Fetch and unpack ``facts.downloads`` into ``dest`` (files already there are kept)."""
    if not facts.downloads:
        raise InputError(
            f"the {facts.name} recipe knows no published download with checksums",
            hint=f"download {facts.title} by hand from {facts.homepage} and give its folder"
            " as SOURCE, without --download",
        )
    fetch_files(facts.downloads, dest, mirror=mirror, progress=progress)


def fetch_files(
    downloads: Iterable[Download],
    dest: Path,
    *,
    mirror: str | None = None,
    progress: bool = True,
) -> list[Path]:
    """Download, verify (MD5) and unpack each file into ``dest``; return the files."""
    from eotdl.catalog.http_downloads import HttpDownloader, HttpGet
    from eotdl.storage import TransferOptions

    downloads = list(downloads)
    mirror = mirror or os.environ.get(MIRROR_ENV) or None
    urls = {d.filename: _url(d, mirror) for d in downloads}
    remote = [u for u in urls.values() if urllib.parse.urlsplit(u).hostname not in LOOPBACK]
    if remote and os.environ.get(OFFLINE_ENV):
        raise InputError(
            f"no network ({OFFLINE_ENV} is set): cannot fetch"
            f" {', '.join(d.filename for d in downloads)}",
            hint=f"run where there is a network, set {MIRROR_ENV}=URL of a mirror, or copy the"
            f" files into {dest} by hand and run without --download",
        )
    dest.mkdir(parents=True, exist_ok=True)
    gets = [HttpGet(url=urls[d.filename], dest=str(dest / d.filename)) for d in downloads]
    summary = HttpDownloader(TransferOptions(attempts=3, backoff=0.2)).get_files(
        gets, progress=progress
    )
    if summary.failed:
        first = summary.failed[0]
        raise InputError(
            f"could not download {len(summary.failed)} file(s), e.g. {Path(first.name).name}:"
            f" {first.message}",
            hint="check the network (no network here? copy the files into"
            f" {dest} by hand and run without --download); a rerun resumes where it stopped",
        )
    files = []
    for download in downloads:
        path = dest / download.filename
        _check_md5(path, download, urls[download.filename])
        if download.extract:
            _unpack(path, dest)
        files.append(path)
    return files


def _url(download: Download, mirror: str | None) -> str:
    if not mirror:
        return download.url
    return mirror.rstrip("/") + "/" + download.filename


def _check_md5(path: Path, download: Download, url: str) -> None:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != download.md5:
        path.unlink()
        raise InputError(
            f"{download.filename} from {url}: MD5 {digest.hexdigest()} instead of the published"
            f" {download.md5}; the file was removed",
            hint="run again to fetch it afresh; if it fails again the source (or mirror) serves"
            " other bytes than the publisher's",
        )


def _unpack(archive: Path, dest: Path) -> None:
    """Unpack a zip into ``dest`` once (a marker records it), refusing paths that climb out."""
    marker = dest / f".{archive.name}.unpacked"
    if marker.exists():
        return
    try:
        with zipfile.ZipFile(archive) as zf:
            names = zf.namelist()
            for name in names:
                parts = PurePosixPath(name).parts
                if name.startswith("/") or ".." in parts:
                    raise InputError(f"{archive}: member {name!r} points outside the archive")
            scratch = Path(tempfile.mkdtemp(prefix=".unpack-", dir=dest))
            try:
                zf.extractall(scratch)
                for entry in sorted(scratch.iterdir()):
                    target = dest / entry.name
                    if target.exists():
                        shutil.rmtree(target) if target.is_dir() else target.unlink()
                    entry.rename(target)
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
    except zipfile.BadZipFile as exc:
        raise InputError(f"{archive}: not a zip archive ({exc})") from None
    marker.write_text(archive.name + "\n", encoding="utf-8")
