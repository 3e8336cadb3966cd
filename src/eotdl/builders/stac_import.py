"""``stac``: import any STAC catalog or collection, of any version from 0.8 up, as a dataset.

Sources: a local ``catalog.json``/``collection.json`` (or a folder holding one), an http(s)
URL, ``s3://bucket/key``, or an archive (``.tar.gz``, ``.zip``…) holding a catalog, extracted
safely into the scratch folder. Every object is migrated to STAC 1.0.0
(:mod:`eotdl.builders.stac_migrate`).

Samples: when the catalog has label items (Radiant MLHub's layout: a labels collection whose
items have ``source`` links to imagery items), each label item becomes one item carrying its
label assets *and* the assets of the imagery it labels, so a loader reads one item per sample.
Label items without ``source`` links are paired by MLHub's naming (``X-labels`` labels ``X``).
Without label items, each item is one sample. Original ids are kept (``eotdl:original_id``,
``eotdl:source_ids``).

Assets are fetched into the scratch folder (then uploaded by the catalog layer); an asset
that cannot be fetched is reported with all the others at the end, or dropped and recorded
with ``--allow-missing-assets``. Links and hrefs of a local catalog may not leave its folder.
"""

from __future__ import annotations

import os
import urllib.parse
import warnings
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eotdl.builders.base import ML_AOI_EXT, Builder, Labels, Option
from eotdl.builders.stac_archive import extract_archive, find_root, is_archive
from eotdl.builders.stac_assets import Fetched, Fetcher, Mirror, split_s3
from eotdl.builders.stac_migrate import is_label_item, migrate, source_version
from eotdl.catalog import canonical
from eotdl.catalog.card import TASKS, Card
from eotdl.catalog.sources import FOLLOWED, is_url, resolve, walk
from eotdl.errors import EotdlError, InputError

#: Links of a source item worth keeping (they point outside the catalog).
KEPT_RELS = frozenset(
    {"license", "cite-as", "about", "describedby", "via", "related", "derived_from", "preview"}
)
TIME_FIELDS = ("datetime", "start_datetime", "end_datetime")
LABEL_SUFFIXES = ("-labels", "_labels", "-label", "_label")
SCIENTIFIC_EXT = "https://stac-extensions.github.io/scientific/v1.0.0/schema.json"
_BATCH = 64
_METADATA_SUFFIXES = (".xml", ".json", ".txt", ".pdf", ".csv", ".html", ".md")
_TASK_NAMES = {"detection": "object-detection", "object_detection": "object-detection"}


class StacImportWarning(UserWarning):
    """Something an import left out or changed that the user should know about."""


@dataclass(frozen=True)
class MissingAsset:
    """An asset that could not be fetched."""

    item: str
    key: str
    href: str
    reason: str

    def format(self) -> str:
        return f"item {self.item!r}: asset {self.key!r}: {self.href}: {self.reason}"


@dataclass(frozen=True)
class _Entry:
    """An item of the source catalog, as spooled to disk during the scan."""

    offset: int
    id: str
    collection: str
    href: str
    is_label: bool
    sources: tuple[str, ...]


@dataclass(frozen=True)
class _Sample:
    """One output item: a label item (or plain item) and the imagery items it labels."""

    id: str
    entry: int
    sources: tuple[int, ...]


def _keys(value: Any) -> tuple[str, ...]:
    """``--assets`` values: repeated and/or comma-separated keys."""
    if not value:
        return ()
    values = [value] if isinstance(value, str) else list(value)
    return tuple(k.strip() for v in values for k in str(v).split(",") if k.strip())


def _resolve(base: str, href: str) -> str:
    """:func:`resolve`, keeping absolute URLs of any scheme (``s3://``…) as they are."""
    scheme = urllib.parse.urlsplit(href).scheme
    if "://" in href and len(scheme) > 1 and scheme != "file":
        return href
    return resolve(base, href)


def _local_path(href: str) -> str | None:
    if href.startswith("file://"):
        return urllib.parse.unquote(urllib.parse.urlsplit(href).path)
    if "://" in href:
        return None
    return href


class StacImportBuilder(Builder):
    name = "stac"
    summary = (
        "any STAC catalog or collection (0.8 up; path, http(s), s3://, .tar.gz/.zip),"
        " migrated to 1.0.0, MLHub label/source items flattened into samples"
    )
    version = "1"
    options = (
        Option(
            "assets",
            "Import only these asset keys (repeat or comma-separate; default: all).",
            multiple=True,
            default=(),
        ),
        Option(
            "skip_assets",
            "Keep remote asset hrefs as they are: nothing downloaded or uploaded for them.",
            flag=True,
            default=False,
        ),
        Option(
            "allow_missing_assets",
            "Drop assets that cannot be fetched (listed in a warning and in the collection)"
            " instead of failing.",
            flag=True,
            default=False,
        ),
        Option(
            "keep_unlabelled",
            "With label items, also keep the items no label item points at.",
            flag=True,
            default=False,
        ),
        Option("endpoint_url", "S3 endpoint for s3:// sources and assets (default: AWS settings)."),
        Option(
            "max_extract_mb",
            "Largest total size an archive may extract to, in MiB.",
            type=int,
            default=20480,
        ),
        Option("workers", "Assets downloaded in parallel.", type=int, default=8),
    )

    def __init__(self, source: str, dataset: str, workdir: Path, **options: Any) -> None:
        super().__init__(source, dataset, workdir, **options)
        self.workdir = Path(os.path.abspath(self.workdir))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.asset_keys = _keys(self.settings["assets"])
        self.missing: list[MissingAsset] = []
        self.notes: list[str] = []
        self.boundary: Path | None = None
        self.mirror: Mirror | None = None
        self.display = source
        self.containers: list[dict[str, Any]] = []
        self.versions: Counter[str] = Counter()
        self.local_copies = 0
        self.seen_keys: set[str] = set()
        self.parents: dict[str, str] = {}  # item href -> id of the catalog/collection linking it
        self.spool = self.workdir / "stac-import-items.ndjson"
        self.entries: list[_Entry] = []
        root = self._open_source()
        self._scan(root)
        self.samples = self._pair()
        self.labels = self._labels()

    # -- the source -------------------------------------------------------------------

    def _open_source(self) -> str:
        """The href of the root STAC document to walk; sets the folder hrefs must stay in."""
        source = self.source
        if is_archive(source):
            if is_url(source) or source.startswith("s3://"):
                fetcher = Fetcher(self.workdir, endpoint_url=self.settings["endpoint_url"])
                try:
                    archive = fetcher.download(source)
                except EotdlError as exc:
                    raise InputError(exc.message) from None
            else:
                archive = Path(_local_path(source) or source)
            folder = extract_archive(
                archive, self.workdir / "archive", int(self.settings["max_extract_mb"]) << 20
            )
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
            store = open_store(store_url, endpoint_url=self.settings["endpoint_url"])
            documents = [
                info.key
                for info in store.list("")
                if info.key.endswith(".json")
                and not {"", ".", ".."} & set(info.key.split("/"))  # stays inside the mirror
            ]
            root = self.workdir / "s3"
            requests = [(k, root / k, None, None) for k in documents]
            if requests:
                store.get_files(requests, workers=self.settings["workers"], progress=False)
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
        target = _resolve(base, href)
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
        return normal

    # -- the scan: walk, migrate, spool ---------------------------------------------

    def _scan(self, root: str) -> None:
        broken: list[str] = []
        with self.spool.open("wb") as out:
            for visit in walk(root):
                if visit.obj is None:
                    broken.append(f"{self._show(visit.href)}: {visit.error}")
                    continue
                obj = visit.obj
                for link in obj.get("links") or []:  # checked before walk follows them
                    if isinstance(link, dict) and link.get("rel") in FOLLOWED:
                        if isinstance(link.get("href"), str) and link["href"]:
                            target = self._checked(
                                visit.href, link["href"], f"{self._show(visit.href)}: link"
                            )
                            if "://" in target and not is_url(target):
                                raise InputError(
                                    f"{self._show(visit.href)}: links to {target}; links between"
                                    " catalog documents must be relative paths or http(s) URLs",
                                    hint="import that catalog by its own URL",
                                )
                self.versions[source_version(obj)] += 1
                migrated = migrate(obj, self._show(visit.href))
                if migrated.get("type") != "Feature":
                    self.containers.append({k: v for k, v in migrated.items() if k != "links"})
                    for link in migrated.get("links") or []:
                        if isinstance(link, dict) and link.get("rel") == "item":
                            if isinstance(link.get("href"), str):
                                target = _resolve(visit.href, link["href"])
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
        where = self._show(href)
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
            _resolve(href, link["href"])
            for link in item.get("links") or []
            if isinstance(link, dict)
            and link.get("rel") == "source"
            and isinstance(link.get("href"), str)
        )
        collection = item.get("collection")
        if not isinstance(collection, str) or not collection:
            collection = self.parents.get(href, "")
        self.entries.append(
            _Entry(
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

    def _show(self, href: str) -> str:
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

    def _read(self, handle: Any, entry: _Entry) -> dict[str, Any]:
        handle.seek(entry.offset)
        item: dict[str, Any] = canonical.loads(handle.readline())
        return item

    # -- pairing label items with their imagery --------------------------------------

    def _pair(self) -> list[_Sample]:
        by_href = {e.href: i for i, e in enumerate(self.entries)}
        by_id: dict[str, list[int]] = {}
        for i, entry in enumerate(self.entries):
            by_id.setdefault(entry.id, []).append(i)
        labels = [i for i, e in enumerate(self.entries) if e.is_label]
        pairs: list[tuple[int, tuple[int, ...]]] = []
        unresolved = 0
        for i in labels:
            entry = self.entries[i]
            found: list[int] = []
            for href in entry.sources:
                j = by_href.get(href)
                if j is None:
                    j = self._by_id(by_id, _id_from_href(href), entry.collection)
                if j is None or self.entries[j].is_label:
                    unresolved += 1
                elif j not in found:
                    found.append(j)
            if not entry.sources:
                for suffix in LABEL_SUFFIXES:
                    if entry.id.endswith(suffix):
                        j = self._by_id(by_id, entry.id[: -len(suffix)], entry.collection)
                        if j is not None and not self.entries[j].is_label:
                            found.append(j)
                        break
            pairs.append((i, tuple(found)))
        if unresolved:
            self._note(
                f"{unresolved} source link(s) of label items point at items that are not in the"
                " catalog; their imagery was not imported."
            )
        if not labels:
            pairs = [(i, ()) for i in range(len(self.entries))]
        else:
            used = {j for _, found in pairs for j in found}
            left = [i for i, e in enumerate(self.entries) if not e.is_label and i not in used]
            if left and self.settings["keep_unlabelled"]:
                pairs += [(i, ()) for i in left]
            elif left:
                self._note(
                    f"{len(left)} item(s) that no label item points at were left out"
                    " (--keep-unlabelled keeps them)."
                )
        return self._sample_ids(pairs)

    def _by_id(self, by_id: dict[str, list[int]], item_id: str, collection: str) -> int | None:
        found = by_id.get(item_id) or []
        if len(found) == 1:
            return found[0]
        same = [j for j in found if not self.entries[j].is_label]
        if len(same) > 1:
            same = [j for j in same if self.entries[j].collection == collection] or same
        return same[0] if len(same) == 1 else None

    def _sample_ids(self, pairs: list[tuple[int, tuple[int, ...]]]) -> list[_Sample]:
        counts = Counter(self.entries[i].id for i, _ in pairs)
        samples = []
        for i, found in pairs:
            entry = self.entries[i]
            sample_id = entry.id
            if counts[sample_id] > 1 and entry.collection:
                sample_id = f"{entry.collection}-{entry.id}"
            samples.append(_Sample(sample_id, i, found))
        seen: dict[str, str] = {}
        for sample in samples:
            where = self._show(self.entries[sample.entry].href)
            if sample.id in seen:
                raise InputError(
                    f"two items would both get the id {sample.id!r}: {seen[sample.id]} and {where}",
                    hint="give the items distinct ids, or set their 'collection' field",
                )
            seen[sample.id] = where
        return samples

    def _labels(self) -> Labels | None:
        types: Counter[str] = Counter()
        tasks: dict[str, None] = {}
        classes: dict[Any, None] = {}
        names: Counter[str] = Counter()
        with self.spool.open("rb") as handle:
            for entry in self.entries:
                if not entry.is_label:
                    continue
                props = self._read(handle, entry)["properties"]
                types[str(props.get("label:type"))] += 1
                for task in props.get("label:tasks") or []:
                    tasks[str(task)] = None
                for group in props.get("label:classes") or []:
                    if isinstance(group, dict):
                        if group.get("name"):
                            names[str(group["name"])] += 1
                        for value in group.get("classes") or []:
                            classes[value] = None
        if not types:
            return None
        return Labels(
            type=types.most_common(1)[0][0],
            tasks=list(tasks),
            classes=list(classes),
            description="labels imported from the source catalog",
            class_property=names.most_common(1)[0][0] if names else "class",
        )

    def _note(self, text: str) -> None:
        self.notes.append(text)
        warnings.warn(text, StacImportWarning, stacklevel=3)

    # -- items -------------------------------------------------------------------------

    def items(self) -> Iterator[dict[str, Any]]:
        fetcher = Fetcher(
            self.workdir,
            keep_remote=bool(self.settings["skip_assets"]),
            workers=int(self.settings["workers"]),
            endpoint_url=self.settings["endpoint_url"],
            mirror=self.mirror,
        )
        self.missing = []
        with self.spool.open("rb") as handle:
            for start in range(0, len(self.samples), _BATCH):
                batch = [self._assemble(handle, s) for s in self.samples[start : start + _BATCH]]
                hrefs = [a["href"] for item, _ in batch for a in item["assets"].values()]
                fetched = fetcher.fetch_all(hrefs)
                for item, groups in batch:
                    yield self._finish(item, groups, fetched)
        if self.missing and not self.settings["allow_missing_assets"]:
            lines = [m.format() for m in self.missing[:1000]]
            if len(self.missing) > 1000:
                lines.append(f"… and {len(self.missing) - 1000} more")
            raise InputError(
                f"{len(self.missing)} asset(s) could not be fetched:\n  " + "\n  ".join(lines),
                hint="--allow-missing-assets imports without them (and records it);"
                " --skip-assets keeps remote hrefs as they are; --assets KEYS imports only"
                " some assets",
            )
        if self.missing:
            more = len(self.missing) - 50
            warnings.warn(
                f"{len(self.missing)} asset(s) could not be fetched and were left out:\n  "
                + "\n  ".join(m.format() for m in self.missing[:50])
                + (f"\n  … and {more} more" if more > 0 else ""),
                StacImportWarning,
                stacklevel=2,
            )
            self.notes.append(_missing_summary(self.missing))

    def _assemble(self, handle: Any, sample: _Sample) -> tuple[dict[str, Any], list[Any]]:
        """The output item (hrefs not fetched yet) and, per source item, its asset keys."""
        entry = self.entries[sample.entry]
        base = self._read(handle, entry)
        sources = sorted(
            (self._read(handle, self.entries[j]) for j in sample.sources),
            key=lambda s: (_time_of(s) or "", s["id"]),
        )
        item: dict[str, Any] = {
            k: v for k, v in base.items() if k not in ("collection", "links", "assets")
        }
        item["id"] = sample.id
        item["links"] = _kept_links(base)
        props = dict(base["properties"])
        for source in sources:
            for key, value in source["properties"].items():
                if key not in TIME_FIELDS and not key.startswith(("label:", "eotdl:")):
                    props.setdefault(key, value)
        props["eotdl:original_id"] = entry.id
        if entry.collection:
            props["eotdl:original_collection"] = entry.collection
        if sources:
            props["eotdl:source_ids"] = [s["id"] for s in sources]
        item["properties"] = props
        if item.get("geometry") is None and sources and sources[0].get("geometry"):
            item["geometry"] = sources[0]["geometry"]
            item["bbox"] = sources[0].get("bbox")
            if item["bbox"] is None:
                item.pop("bbox")
        extensions = list(base.get("stac_extensions") or [])
        assets: dict[str, Any] = {}
        label_assets = base["assets"]
        for key, asset in label_assets.items():
            asset = dict(asset)
            if entry.is_label:
                asset.setdefault("roles", _label_roles(key, asset, len(label_assets)))
                if "labels" in asset["roles"]:
                    asset["ml-aoi:role"] = "label"
            else:
                asset.setdefault("roles", _data_roles(key, asset))
            assets[key] = asset
        groups: list[tuple[str, list[str]]] = []
        for n, source in enumerate(sources):
            keys: list[str] = []
            for key, asset in source["assets"].items():
                name = f"{key}_{n}" if len(sources) > 1 else key
                while name in assets:
                    name = f"source_{name}"
                asset = dict(asset)
                asset.setdefault("roles", _data_roles(key, asset))
                if "data" in asset["roles"]:
                    asset["ml-aoi:role"] = "feature"
                for field in TIME_FIELDS:
                    value = source["properties"].get(field)
                    if value is not None and value != props.get(field):
                        asset.setdefault(field, value)
                assets[name] = asset
                keys.append(name)
            groups.append((source["id"], keys))
            for ext in source.get("stac_extensions") or []:
                if ext not in extensions and "/label/" not in ext:
                    extensions.append(ext)
        if any("ml-aoi:role" in a for a in assets.values()) and ML_AOI_EXT not in extensions:
            extensions.append(ML_AOI_EXT)
        item["stac_extensions"] = extensions
        item["assets"] = assets
        return item, groups

    def _finish(
        self, item: dict[str, Any], groups: list[Any], fetched: dict[str, Fetched]
    ) -> dict[str, Any]:
        """Point assets at their fetched files; record (and drop) the missing ones."""
        for key in list(item["assets"]):
            asset = item["assets"][key]
            outcome = fetched[asset["href"]]
            if outcome.href is None:
                self.missing.append(
                    MissingAsset(item["id"], key, self._show(asset["href"]), outcome.reason)
                )
                del item["assets"][key]
            else:
                asset["href"] = outcome.href
        for source_id, keys in groups:
            present = [k for k in keys if k in item["assets"]]
            data = [k for k in present if "data" in item["assets"][k].get("roles", [])]
            if not (data or present):
                continue
            asset = item["assets"][(data or present)[0]]
            link = {"rel": "source", "href": asset["href"], "title": f"imagery {source_id}"}
            if asset.get("type"):
                link["type"] = asset["type"]
            item["links"].append(link)
        return item

    # -- collection and card ---------------------------------------------------------

    def _first(self, field: str) -> Any:
        for container in self.containers:
            if container.get(field):
                return container[field]
        return None

    def collection(self) -> dict[str, Any]:
        collection = super().collection()
        if self._first("title"):
            collection["title"] = str(self._first("title"))
        licenses = {
            str(c["license"]) for c in self.containers if c.get("license") and "extent" in c
        }
        collection["license"] = licenses.pop() if len(licenses) == 1 else "other"
        if collection["license"] in ("proprietary", "various"):
            collection["license"] = "other"
        collection["description"] = self._description()
        providers: dict[str, dict[str, Any]] = {}
        keywords: dict[str, None] = {}
        for container in self.containers:
            for provider in container.get("providers") or []:
                if isinstance(provider, dict) and provider.get("name"):
                    providers.setdefault(str(provider["name"]), provider)
            for word in container.get("keywords") or []:
                keywords[str(word)] = None
        if providers:
            collection["providers"] = list(providers.values())
        if keywords:
            collection["keywords"] = list(keywords)
        scientific = {
            k: self._first(k)
            for k in ("sci:doi", "sci:citation", "sci:publications")
            if self._first(k)
        }
        if scientific:
            collection.update(scientific)
            collection["stac_extensions"] = [SCIENTIFIC_EXT]
        return collection

    def _description(self) -> str:
        text = str(self._first("description") or "").strip()
        versions = " and ".join(sorted(self.versions))
        parts = [
            text,
            f"Imported with the eotdl `stac` builder from {self.display}"
            f" (STAC {versions}, migrated to 1.0.0).",
        ]
        if self.local_copies:
            parts.append(
                f"{self.local_copies} remote asset(s) were read from the copies shipped beside"
                " their items."
            )
        parts += self.notes
        return "\n\n".join(p for p in parts if p)

    def card(self) -> Card:
        card = super().card()
        description = str(self._first("description") or "").strip()
        if description:
            card.description = description
        license_ = self.collection()["license"]
        if license_ != "other":
            card.license = license_
        tasks = [_TASK_NAMES.get(t, t) for t in (self.labels.tasks if self.labels else [])]
        card.tasks = [t for t in dict.fromkeys(tasks) if t in TASKS]
        card.citation = str(self._first("sci:citation") or "")
        card.doi = str(self._first("sci:doi") or "")
        card.body = (
            f"# {card.title}\n\n{description or 'TODO: describe the dataset.'}\n\n"
            f"Imported from `{self.display}` with the eotdl `stac` builder.\n\n"
            "TODO: where and when the data come from, how labels were made, known"
            " limitations, and how to cite it.\n"
        )
        return card


def _missing_summary(missing: list[MissingAsset]) -> str:
    """One line per asset key: how many items lost it, and one example of why."""
    by_key: dict[str, list[MissingAsset]] = {}
    for m in missing:
        by_key.setdefault(m.key, []).append(m)
    lines = [
        f"- {key!r} of {len(group)} item(s), e.g. {group[0].href}: {group[0].reason}"
        for key, group in sorted(by_key.items())
    ]
    return f"{len(missing)} asset(s) could not be fetched and were left out:\n" + "\n".join(lines)


def _time_of(item: dict[str, Any]) -> str | None:
    props = item.get("properties") or {}
    value = props.get("datetime") or props.get("start_datetime")
    return str(value) if value else None


def _id_from_href(href: str) -> str:
    """The item id an href most likely names: its file name, or its folder for ``stac.json``
    and ``item.json`` (MLHub's and pystac's layouts)."""
    path = urllib.parse.urlsplit(href).path if is_url(href) else href
    parts = [p for p in path.replace("\\", "/").split("/") if p]
    if not parts:
        return ""
    stem = parts[-1][:-5] if parts[-1].endswith(".json") else parts[-1]
    if stem in ("stac", "item") and len(parts) > 1:
        return parts[-2]
    return stem


def _kept_links(item: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        dict(link)
        for link in item.get("links") or []
        if isinstance(link, dict)
        and link.get("rel") in KEPT_RELS
        and isinstance(link.get("href"), str)
        and is_url(link["href"])
    ]


def _label_roles(key: str, asset: dict[str, Any], count: int) -> list[str]:
    media = str(asset.get("type") or "")
    if "label" in key.lower() or "geo+json" in media or count == 1:
        return ["labels"]
    return ["metadata"]


def _data_roles(key: str, asset: dict[str, Any]) -> list[str]:
    if key.lower() in ("thumbnail", "overview"):
        return [key.lower()]
    path = urllib.parse.urlsplit(str(asset.get("href") or "")).path.lower()
    if path.endswith(_METADATA_SUFFIXES):
        return ["metadata"]
    return ["data"]
