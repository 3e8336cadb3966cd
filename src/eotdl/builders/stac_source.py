"""Opening the source of a ``stac`` import and scanning it: every STAC document read,
migrated, and its items spooled to disk.

Sources: a local ``catalog.json``/``collection.json`` (or a folder holding one), an http(s)
URL, ``s3://bucket/key`` (its JSON documents mirrored from the store first), or an archive
(``.tar.gz``, ``.zip``…) holding a catalog, extracted safely into the scratch folder. Every
object is migrated to STAC 1.0.0 (:mod:`eotdl.builders.stac_migrate`); every item is written
to a spool file (one canonical JSON line each) and remembered as an
:class:`~eotdl.builders.stac_samples.Entry`, so a large catalog is never held in memory. Links
and hrefs of a local catalog may not leave its folder (path traversal, links out of it).
"""

from __future__ import annotations

import os
import urllib.parse
from collections import Counter
from pathlib import Path
from typing import Any

from eotdl.builders.stac_archive import extract_archive, find_root, is_archive
from eotdl.builders.stac_assets import Fetcher, Mirror
from eotdl.builders.stac_migrate import migrate, source_version
from eotdl.builders.stac_samples import Entry
from eotdl.catalog import canonical
from eotdl.catalog.locations import is_url, resolve, split_s3
from eotdl.catalog.paths import readable_path
from eotdl.catalog.sources import FOLLOWED, walk
from eotdl.catalog.vocabulary import is_label_item
from eotdl.errors import EotdlError, InputError


def _local_path(href: str) -> str | None:
    if href.startswith("file://"):
        return urllib.parse.unquote(urllib.parse.urlsplit(href).path)
    if "://" in href:
        return None
    return href


class CatalogSource:
    """A STAC catalog to import: where it is read from, and what the scan found in it."""

    def __init__(
        self,
        source: str,
        workdir: Path,
        *,
        asset_keys: tuple[str, ...] = (),
        endpoint_url: str | None = None,
        max_extract_bytes: int,
        workers: int,
    ) -> None:
        self.source = source
        self.workdir = workdir
        self.asset_keys = asset_keys
        self.endpoint_url = endpoint_url
        self.max_extract_bytes = max_extract_bytes
        self.workers = workers
        self.boundary: Path | None = None  # the folder local hrefs must stay in
        self.mirror: Mirror | None = None  # the local copy of an s3:// catalog's documents
        self.display = source
        self.containers: list[dict[str, Any]] = []
        self.versions: Counter[str] = Counter()
        self.local_copies = 0
        self.seen_keys: set[str] = set()
        self.parents: dict[str, str] = {}  # item href -> id of the catalog/collection linking it
        self.spool = workdir / "stac-import-items.ndjson"
        self.entries: list[Entry] = []

    def open(self) -> str:
        """The href of the root STAC document to walk; sets the folder hrefs must stay in."""
        source = self.source
        if is_archive(source):
            if is_url(source) or source.startswith("s3://"):
                fetcher = Fetcher(self.workdir, endpoint_url=self.endpoint_url)
                try:
                    archive = fetcher.download(source)
                except EotdlError as exc:
                    raise InputError(exc.message) from None
            else:
                archive = Path(_local_path(source) or source)
            folder = extract_archive(archive, self.workdir / "archive", self.max_extract_bytes)
            self.boundary = folder
            self.display = os.path.basename(source.rstrip("/"))
            return str(find_root(folder))
        if source.startswith("s3://"):
            return self._open_s3(source)
        if is_url(source):
            self.display = source
            return source
        path = Path(_local_path(source) or source)
        if path.is_dir():
            for name in ("catalog.json", "collection.json"):
                if (path / name).is_file():
                    path = path / name
                    break
            else:
                raise InputError(
                    f"{path}: no catalog.json or collection.json in this folder",
                    hint="give the path of the catalog's root JSON file",
                )
        if not path.is_file():
            raise InputError(f"{path}: no such file")
        path = Path(os.path.normpath(os.path.abspath(path)))
        self.boundary = path.parent
        self.display = f"{path.parent.name}/{path.name}"
        return str(path)

    def _open_s3(self, url: str) -> str:
        """Mirror the catalog's JSON documents from the store prefix, then walk the mirror."""
        from eotdl.storage import TransferError, open_store

        bucket, key = split_s3(url)
        if not bucket:
            raise InputError(f"{url}: names no bucket", hint="use s3://bucket/path/catalog.json")
        is_json = key.endswith(".json")
        prefix = key.rsplit("/", 1)[0] if is_json and "/" in key else ("" if is_json else key)
        prefix = prefix.strip("/")
        store_url = f"s3://{bucket}/{prefix}" if prefix else f"s3://{bucket}"
        try:
            store = open_store(store_url, endpoint_url=self.endpoint_url)
            documents = [
                info.key
                for info in store.list("")
                if info.key.endswith(".json")
                and not {"", ".", ".."} & set(info.key.split("/"))  # stays inside the mirror
            ]
            root = self.workdir / "s3"
            requests = [(k, root / k, None, None) for k in documents]
            if requests:
                store.get_files(requests, workers=self.workers, progress=False)
        except TransferError as exc:
            raise InputError(f"{url}: could not read the catalog: {exc.message}") from None
        except EotdlError as exc:
            raise InputError(f"{url}: {exc.message}", hint=exc.hint) from None
        self.mirror = Mirror(root, store, store_url.rstrip("/") + "/")
        self.boundary = root
        self.display = url
        target = root / key.rsplit("/", 1)[-1] if is_json else None
        if target is None:
            target = next(
                (root / n for n in ("catalog.json", "collection.json") if (root / n).is_file()),
                None,
            )
        if target is None or not target.is_file():
            raise InputError(
                f"{url}: no such STAC document in the bucket",
                hint="give the s3:// URL of the catalog's root JSON file",
            )
        return str(target)

    def _checked(self, base: str, href: str, what: str) -> str:
        """``href`` resolved against ``base``; refuses local paths outside the catalog."""
        target = resolve(base, href)
        local = _local_path(target)
        if local is None:  # a URL: http(s), s3, or a scheme the fetcher reports as unreadable
            return target
        if self.boundary is None:
            raise InputError(
                f"{what}: {href!r} is a local path in a remote catalog; refusing to read it",
                hint="a catalog served over http(s) may only point at http(s) or s3:// URLs",
            )
        normal = os.path.normpath(os.path.join(str(self.boundary), local))
        root = str(self.boundary)
        if normal != root and not normal.startswith(root.rstrip(os.sep) + os.sep):
            raise InputError(
                f"{what}: {href!r} points outside the catalog's folder (path traversal);"
                " refusing to read it",
                hint="import the catalog from its root folder, or fix the href",
            )
        if os.path.lexists(normal) and not os.path.isdir(normal):
            readable_path(normal, self.boundary)  # a symlink out of the folder, a FIFO: refused
        return normal

    def scan(self, root: str) -> None:
        broken: list[str] = []
        with self.spool.open("wb") as out:
            for visit in walk(root, root=self.boundary):
                if visit.obj is None:
                    broken.append(f"{self.show(visit.href)}: {visit.error}")
                    continue
                obj = visit.obj
                for link in obj.get("links") or []:  # checked before walk follows them
                    if isinstance(link, dict) and link.get("rel") in FOLLOWED:
                        if isinstance(link.get("href"), str) and link["href"]:
                            target = self._checked(
                                visit.href, link["href"], f"{self.show(visit.href)}: link"
                            )
                            if "://" in target and not is_url(target):
                                raise InputError(
                                    f"{self.show(visit.href)}: links to {target}; links between"
                                    " catalog documents must be relative paths or http(s) URLs",
                                    hint="import that catalog by its own URL",
                                )
                self.versions[source_version(obj)] += 1
                migrated = migrate(obj, self.show(visit.href))
                if migrated.get("type") != "Feature":
                    self.containers.append({k: v for k, v in migrated.items() if k != "links"})
                    for link in migrated.get("links") or []:
                        if isinstance(link, dict) and link.get("rel") == "item":
                            if isinstance(link.get("href"), str):
                                target = resolve(visit.href, link["href"])
                                self.parents.setdefault(target, str(migrated.get("id") or ""))
                    continue
                self._spool_item(migrated, visit.href, out)
        if broken:
            raise InputError(
                f"{len(broken)} catalog document(s) could not be read:\n  " + "\n  ".join(broken),
                hint="fix or remove the broken child/item links",
            )
        if not self.entries:
            raise InputError(f"{self.display}: the catalog holds no items")
        unknown = [k for k in self.asset_keys if k not in self.seen_keys]
        if unknown:
            raise InputError(
                f"--assets {', '.join(unknown)}: no item of the catalog has such an asset",
                hint=f"asset keys in this catalog: {', '.join(sorted(self.seen_keys)) or 'none'}",
            )

    def _spool_item(self, item: dict[str, Any], href: str, out: Any) -> None:
        where = self.show(href)
        item_id = item.get("id")
        if not isinstance(item_id, str) or not item_id:
            raise InputError(f"{where}: the item has no id")
        label = is_label_item(item)
        assets: dict[str, Any] = {}
        for key, asset in (item.get("assets") or {}).items():
            self.seen_keys.add(key)
            if self.asset_keys and key not in self.asset_keys:
                continue
            if not isinstance(asset, dict) or not isinstance(asset.get("href"), str):
                raise InputError(f"{where}: asset {key!r} has no href")
            asset = dict(asset)
            asset["href"] = self._local_copy(
                key, self._checked(href, asset["href"], f"{where}: asset {key!r}"), href
            )
            assets[key] = asset
        item["assets"] = assets
        sources = tuple(
            resolve(href, link["href"])
            for link in item.get("links") or []
            if isinstance(link, dict)
            and link.get("rel") == "source"
            and isinstance(link.get("href"), str)
        )
        collection = item.get("collection")
        if not isinstance(collection, str) or not collection:
            collection = self.parents.get(href, "")
        self.entries.append(
            Entry(
                out.tell(),
                item_id,
                collection,
                href,
                label,
                sources if label else (),
            )
        )
        out.write(canonical.dumps(item) + b"\n")

    def _local_copy(self, key: str, target: str, item_href: str) -> str:
        """A remote asset shipped beside its item (MLHub archives name it after the asset
        key, or keep the remote file name): that local file, else the remote href."""
        if not (is_url(target) or target.startswith("s3://")):
            return target
        if self.boundary is None or self.mirror is not None:
            return target
        name = os.path.basename(urllib.parse.unquote(urllib.parse.urlsplit(target).path))
        suffix = os.path.splitext(name)[1]
        folder = os.path.dirname(item_href)
        for candidate in (f"{key}{suffix}", name):
            if candidate and candidate not in (".", ".."):
                path = os.path.join(folder, candidate)
                if path != item_href and os.path.isfile(path) and not os.path.islink(path):
                    self.local_copies += 1
                    return path
        return target

    def show(self, href: str) -> str:
        """An href as shown to users and written to the lab: relative to the catalog folder."""
        if self.mirror is not None:
            key = self.mirror.key(Path(href))
            if key is not None:
                return self.mirror.url + key
        if self.boundary is not None and not is_url(href) and "://" not in href:
            try:
                return Path(href).relative_to(self.boundary).as_posix()
            except ValueError:
                return href
        return href

    def read(self, handle: Any, entry: Entry) -> dict[str, Any]:
        handle.seek(entry.offset)
        item: dict[str, Any] = canonical.loads(handle.readline())
        return item
