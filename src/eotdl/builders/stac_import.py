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
``eotdl:source_ids``). Pairing and flattening: :mod:`eotdl.builders.stac_samples`.

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
from pathlib import Path
from typing import Any

from eotdl.builders.base import Builder, Labels, Option
from eotdl.builders.stac_archive import extract_archive, find_root, is_archive
from eotdl.builders.stac_assets import Fetcher, Mirror
from eotdl.builders.stac_migrate import migrate, source_version
from eotdl.builders.stac_samples import (
    Entry,
    MissingAsset,
    Sample,
    SourceGroups,
    attach,
    flatten,
    missing_summary,
    name_samples,
    pair,
)
from eotdl.catalog import canonical
from eotdl.catalog.card import TASKS, Card
from eotdl.catalog.locations import is_url, resolve, split_s3
from eotdl.catalog.paths import readable_path
from eotdl.catalog.sources import FOLLOWED, walk
from eotdl.catalog.vocabulary import SCIENTIFIC_EXT, is_label_item
from eotdl.errors import EotdlError, InputError

_BATCH = 64
_TASK_NAMES = {"detection": "object-detection", "object_detection": "object-detection"}


class StacImportWarning(UserWarning):
    """Something an import left out or changed that the user should know about."""


def _keys(value: Any) -> tuple[str, ...]:
    """``--assets`` values: repeated and/or comma-separated keys."""
    if not value:
        return ()
    values = [value] if isinstance(value, str) else list(value)
    return tuple(k.strip() for v in values for k in str(v).split(",") if k.strip())


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
        self.entries: list[Entry] = []
        root = self._open_source()
        self._scan(root)
        pairs, notes = pair(self.entries, bool(self.settings["keep_unlabelled"]))
        for note in notes:
            self._note(note)
        self.samples = name_samples(self.entries, pairs, self._show)
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

    # -- the scan: walk, migrate, spool ---------------------------------------------

    def _scan(self, root: str) -> None:
        broken: list[str] = []
        with self.spool.open("wb") as out:
            for visit in walk(root, root=self.boundary):
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

    def _read(self, handle: Any, entry: Entry) -> dict[str, Any]:
        handle.seek(entry.offset)
        item: dict[str, Any] = canonical.loads(handle.readline())
        return item

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
            root=self.boundary if self.mirror is None else None,
        )
        self.missing = []
        with self.spool.open("rb") as handle:
            for start in range(0, len(self.samples), _BATCH):
                batch = [self._flatten(handle, s) for s in self.samples[start : start + _BATCH]]
                hrefs = [a["href"] for item, _ in batch for a in item["assets"].values()]
                fetched = fetcher.fetch_all(hrefs)
                for item, groups in batch:
                    self.missing += attach(item, groups, fetched, self._show)
                    yield item
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
            self.notes.append(missing_summary(self.missing))

    def _flatten(self, handle: Any, sample: Sample) -> tuple[dict[str, Any], SourceGroups]:
        entry = self.entries[sample.entry]
        sources = [self._read(handle, self.entries[j]) for j in sample.sources]
        return flatten(self._read(handle, entry), entry, sample.id, sources)

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
