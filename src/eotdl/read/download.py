"""``eotdl get``: a dataset's metadata and chosen assets, downloaded and verified.

The local layout is a dataset folder the loaders (and :func:`eotdl.open_dataset`) read::

    DIR/collection.json           the collection (structural links dropped)
    DIR/items.ndjson              the chosen items, asset hrefs relative to DIR
    DIR/assets/<item>/<key><ext>  the chosen assets
    DIR/eotdl-get.json            where it came from, the filters, what was verified

Bytes come through the object store layer (local files and ``s3://``) or the HTTP downloader,
in parallel; every file is checked against ``file:checksum`` and ``file:size`` (size only,
and said so, for catalogs without checksums). A run that stopped continues where it stopped.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import mimetypes
import os
import re
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eotdl.atomic import write_bytes_atomic
from eotdl.catalog import canonical
from eotdl.catalog.dataset import DatasetFolder
from eotdl.catalog.http_downloads import HttpDownloader, HttpGet, already_there
from eotdl.catalog.lab import Lab
from eotdl.catalog.locations import local_path, scheme, split_s3
from eotdl.catalog.paths import check_local_source
from eotdl.errors import InputError
from eotdl.read.filters import ItemFilter, parse_keys
from eotdl.read.finding import Located, locate
from eotdl.storage import ObjectStore, TransferError, TransferSummary, open_store
from eotdl.storage.base import TransferFailure
from eotdl.storage.hashcache import HashCache
from eotdl.storage.keys import extension

#: A store download: (key, destination, file:checksum, file:size).
Request = tuple[str, str, str | None, int | None]
MANIFEST = "eotdl-get.json"
ASSETS_DIR = "assets"
_STRUCTURAL = {"self", "root", "parent", "child", "item", "items", "collection", "next", "prev"}
_UNSAFE = re.compile(r"[^A-Za-z0-9._=+-]")
_TYPE_EXTENSIONS = {
    "image/tiff": ".tif",
    "application/geo+json": ".geojson",
    "application/json": ".json",
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "application/x-parquet": ".parquet",
    "application/vnd.apache.parquet": ".parquet",
}


@dataclass
class Transfer:
    """One asset to fetch: from where, to where (relative to the output), and its checks."""

    source: str
    dest: str
    checksum: str | None
    size: int | None


@dataclass
class GetResult:
    """What ``get`` did."""

    dataset: str
    version: str | None
    source: str
    path: Path
    items: int = 0
    files: int = 0
    downloaded: int = 0
    skipped: int = 0
    bytes: int = 0
    seconds: float = 0.0
    with_checksum: int = 0
    size_only: int = 0
    unverified: int = 0
    failed: list[TransferFailure] = field(default_factory=list)

    @property
    def rate(self) -> float:
        """Bytes per second actually transferred."""
        return self.bytes / self.seconds if self.seconds > 0 else 0.0

    def notes(self) -> list[str]:
        """What the user should know about verification."""
        notes = []
        if self.size_only:
            notes.append(f"{self.size_only} file(s) have no file:checksum: verified by size only")
        if self.unverified:
            notes.append(
                f"{self.unverified} file(s) have neither file:checksum nor file:size:"
                " not verified (only fully received)"
            )
        return notes

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "version": self.version,
            "source": self.source,
            "path": str(self.path),
            "items": self.items,
            "files": self.files,
            "downloaded": self.downloaded,
            "skipped": self.skipped,
            "bytes": self.bytes,
            "seconds": round(self.seconds, 3),
            "verified": {
                "checksum_and_size": self.with_checksum,
                "size_only": self.size_only,
                "none": self.unverified,
            },
            "failed": [{"name": f.name, "message": f.message} for f in self.failed],
            "notes": self.notes(),
        }

    def describe(self) -> str:
        return (
            f"{self.items} items, {self.files} files: {self.downloaded} downloaded,"
            f" {self.skipped} already there, {len(self.failed)} failed;"
            f" {self.bytes / 1e6:.1f} MB in {self.seconds:.1f} s ({self.rate / 1e6:.1f} MB/s)"
        )

    def summary(self) -> TransferSummary:
        """As a storage TransferSummary (to raise a TransferError with)."""
        return TransferSummary(
            "download",
            sent=self.downloaded,
            skipped=self.skipped,
            failed=list(self.failed),
            bytes=self.bytes,
            seconds=self.seconds,
        )


def safe_name(text: str) -> str:
    """A file or folder name for an item id or asset key that cannot escape its folder."""
    name = _UNSAFE.sub("_", text)
    if name.startswith(".") or not name:
        name = "_" + name
    if name != text:
        name += "-" + hashlib.sha1(text.encode()).hexdigest()[:8]
    return name[:200]


def asset_extension(href: str, media_type: str | None) -> str:
    """The file extension for an asset: from its href, else from its media type."""
    path = urllib.parse.urlsplit(href).path
    found = extension(path)
    if found:
        return found
    base = (media_type or "").split(";")[0].strip().lower()
    return _TYPE_EXTENSIONS.get(base) or mimetypes.guess_extension(base) or ""


def get(
    target: str,
    out: str | os.PathLike[str] | None = None,
    *,
    version: str | None = None,
    lab: Lab | str | os.PathLike[str] | None = None,
    split: str | None = None,
    bbox: str | Iterable[float] | None = None,
    datetime: str | None = None,
    assets: str | Iterable[str] | None = None,
    workers: int = 16,
    progress: bool = True,
    endpoint_url: str | None = None,
) -> GetResult:
    """Download ``target`` (``NAME[@VERSION]`` on ``lab``, or a collection's location)."""
    located = locate(target, version, lab, endpoint_url=endpoint_url)
    box = list(bbox) if bbox is not None and not isinstance(bbox, str) else bbox
    flt = ItemFilter.of(split, box, datetime)
    folder = Path(out) if out is not None else Path(default_folder(located))
    return get_dataset(located, folder, flt, parse_keys(assets), workers=workers, progress=progress)


def default_folder(located: Located) -> str:
    """``NAME`` or ``NAME-VERSION`` in the current folder."""
    name = safe_name(located.name)
    return f"{name}-{located.version}" if located.version else name


def get_dataset(
    located: Located,
    out: Path,
    flt: ItemFilter | None = None,
    assets: list[str] | None = None,
    *,
    workers: int = 16,
    progress: bool = True,
) -> GetResult:
    """Download a located dataset into ``out``; raise TransferError if any file failed."""
    started = time.monotonic()
    flt = flt or ItemFilter()
    out.mkdir(parents=True, exist_ok=True)
    result = GetResult(located.name, located.version, located.location, out)
    items: list[dict[str, Any]] = []
    transfers: list[Transfer] = []
    found_keys: set[str] = set()
    for item in located.iter_items():
        if not flt.matches(item):
            continue
        items.append(_localise(item, assets, transfers, found_keys))
    if assets:
        missing = sorted(set(assets) - found_keys)
        if missing and items:
            raise InputError(
                f"no asset {', '.join(map(repr, missing))} in the chosen items",
                hint=f"asset keys there: {', '.join(sorted(found_keys)) or 'none'}",
            )
    for t in transfers:
        check_local_source(located.location, t.source)  # nothing read from outside its lab
    result.items = len(items)
    result.files = len(transfers)
    for t in transfers:
        if t.checksum:
            result.with_checksum += 1
        elif t.size is not None:
            result.size_only += 1
        else:
            result.unverified += 1
    _write_metadata(located, out, items)
    _fetch_all(located, out, transfers, workers, progress, result)
    result.seconds = time.monotonic() - started
    _write_manifest(located, out, flt, assets, result)
    if result.failed:
        raise TransferError(result.summary())
    return result


def _localise(
    item: dict[str, Any],
    keys: list[str] | None,
    transfers: list[Transfer],
    found_keys: set[str],
) -> dict[str, Any]:
    """Keep the chosen assets, each pointing at its local copy; queue their transfers."""
    item = dict(item)
    folder = f"{ASSETS_DIR}/{safe_name(str(item.get('id', '')))}"
    kept: dict[str, Any] = {}
    for key, asset in (item.get("assets") or {}).items():
        if not isinstance(asset, dict) or not isinstance(asset.get("href"), str):
            continue
        found_keys.add(key)
        if keys is not None and key not in keys:
            continue
        if keys is None and ("thumbnail" in (asset.get("roles") or []) or key == "thumbnail"):
            continue  # previews are for browsing: fetched only when --assets names them
        href = asset["href"]
        relative = f"{folder}/{safe_name(key)}{asset_extension(href, asset.get('type'))}"
        checksum = asset.get("file:checksum")
        size = asset.get("file:size")
        transfers.append(
            Transfer(
                href,
                relative,
                checksum if isinstance(checksum, str) and checksum else None,
                size if isinstance(size, int) and not isinstance(size, bool) else None,
            )
        )
        kept[key] = {**asset, "href": relative}
    item["assets"] = kept
    item["links"] = _kept_links(item)
    return item


def _kept_links(obj: dict[str, Any]) -> list[Any]:
    """The links of ``obj`` a downloaded copy keeps: absolute URLs, none of the catalog's
    structure (self, root, parent…), which the copy's own layout replaces."""
    return [
        link
        for link in obj.get("links") or []
        if isinstance(link, dict)
        and link.get("rel") not in _STRUCTURAL
        and "://" in str(link.get("href", ""))
    ]


def _write_metadata(located: Located, out: Path, items: list[dict[str, Any]]) -> None:
    collection = dict(located.collection)
    collection["links"] = _kept_links(collection)
    folder = DatasetFolder(out, located.name)
    folder.write_collection(collection)
    folder.write_items(items)


def _write_manifest(
    located: Located, out: Path, flt: ItemFilter, assets: list[str] | None, result: GetResult
) -> None:
    manifest = {
        "source": located.location,
        "kind": located.kind,
        "dataset": located.name,
        "version": located.version,
        "filters": {
            "split": flt.split,
            "bbox": list(flt.bbox) if flt.bbox else None,
            "datetime": [t.isoformat() if t else None for t in flt.interval]
            if flt.interval
            else None,
            "assets": assets,
        },
        "finished": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        **{k: v for k, v in result.to_dict().items() if k not in ("path", "source", "dataset")},
    }
    write_bytes_atomic(out / MANIFEST, canonical.dumps_pretty(manifest))


def _fetch_all(
    located: Located,
    out: Path,
    transfers: list[Transfer],
    workers: int,
    progress: bool,
    result: GetResult,
) -> None:
    """Skip what is already there, then fetch the rest, grouped by where it comes from."""
    cache = HashCache()
    todo: list[Transfer] = []
    try:
        for t in transfers:
            check = HttpGet(t.source, str(out / t.dest), t.checksum, t.size)
            if already_there(check, cache) is None:
                todo.append(t)
            else:
                result.skipped += 1
    finally:
        cache.close()
    for summary in _run_groups(located, out, todo, workers, progress):
        result.downloaded += summary.sent
        result.skipped += summary.skipped
        result.bytes += summary.bytes
        result.failed += summary.failed


def _run_groups(
    located: Located, out: Path, todo: list[Transfer], workers: int, progress: bool
) -> Iterator[TransferSummary]:
    """Fetch over HTTP, per S3 bucket, and from local files (one store over their folders)."""
    http: list[HttpGet] = []
    buckets: dict[str, list[Request]] = {}
    local: list[Request] = []
    for t in todo:
        dest = str(out / t.dest)
        kind = scheme(t.source)
        if kind in ("http", "https"):
            http.append(HttpGet(t.source, dest, t.checksum, t.size))
        elif kind == "s3":
            bucket, key = split_s3(t.source)
            buckets.setdefault(bucket, []).append((key, dest, t.checksum, t.size))
        else:
            local.append((local_path(t.source), dest, t.checksum, t.size))
    if http:
        yield HttpDownloader().get_files(http, workers, progress)
    for bucket, requests in buckets.items():
        opener = functools.partial(located.reader.store, bucket)
        yield _from_store(opener, requests, workers, progress)
    if local:
        root = os.path.commonpath([os.path.dirname(path) for path, *_ in local])
        relative: list[Request] = [
            (os.path.relpath(path, root).replace(os.sep, "/"), dest, checksum, size)
            for path, dest, checksum, size in local
        ]
        yield _from_store(functools.partial(open_store, root), relative, workers, progress)


def _from_store(
    opener: Callable[[], ObjectStore], requests: list[Request], workers: int, progress: bool
) -> TransferSummary:
    try:
        return opener().get_files(requests, workers, progress)
    except TransferError as exc:
        return exc.summary
