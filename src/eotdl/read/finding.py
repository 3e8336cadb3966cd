"""Finding a dataset: ``NAME[@VERSION]`` on a lab, a built site or any static STAC catalog.

A *lab location* is a local lab folder (with ``eotdl.toml``), or the root of a built site:
a folder, an ``http(s)://`` URL or an ``s3://`` prefix holding ``catalog.json``. On a site,
``NAME`` is ``datasets/NAME/collection.json`` and ``NAME@VERSION`` is
``datasets/NAME/v/VERSION/collection.json``; on a foreign catalog, the child collection whose
id is NAME. A dataset can also be opened directly: a folder holding ``collection.json`` (a lab's
dataset folder or one written by ``eotdl get``), or the URL of any ``collection.json``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa

from eotdl.catalog import git
from eotdl.catalog.lab import CONFIG_NAME, NAME_PATTERN, Lab, locate_lab_or_site
from eotdl.catalog.locations import NotFoundError, Reader, is_remote, join, local_path, resolve
from eotdl.catalog.parquet_items import table_items
from eotdl.errors import InputError
from eotdl.read.parquet import read_parquet

PARQUET = "items.parquet"
ITEMS_NDJSON = "items.ndjson"


@dataclass
class Located:
    """A dataset found somewhere, with how to list its Items.

    ``location`` is where its ``collection.json`` is (a path or URL). Items come with every
    asset href made absolute (a local path or a URL).
    """

    name: str
    version: str | None
    kind: str  # "lab", "folder", "site" or "catalog"
    location: str
    collection: dict[str, Any]
    reader: Reader
    _items: Callable[[], Iterator[dict[str, Any]]] = field(repr=False)

    def iter_items(self) -> Iterator[dict[str, Any]]:
        """Every Item, with absolute asset hrefs."""
        return self._items()

    @property
    def has_checksums(self) -> bool:
        """Whether this is one of ours (a lab or site, whose assets carry checksums)."""
        return self.kind in ("lab", "site")


def split_name(target: str) -> tuple[str, str | None]:
    """``NAME@VERSION`` → (NAME, VERSION); a plain NAME has no version."""
    name, at, version = target.partition("@")
    if at and not version:
        raise InputError(f"{target!r}: nothing after '@'", hint="write NAME@VERSION, e.g. x@1.0.0")
    return name, (version or None)


def _looks_like_location(target: str) -> bool:
    return "://" in target or target.endswith(".json") or os.sep in target or "/" in target


def load_json(reader: Reader, location: str) -> dict[str, Any]:
    data = reader.read_bytes(location)
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise InputError(f"{location}: not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise InputError(f"{location}: not a JSON object")
    return value


def absolute_assets(item: dict[str, Any], base: str) -> dict[str, Any]:
    """``item`` with every asset href resolved from ``base`` (the item's document)."""
    assets = item.get("assets")
    if isinstance(assets, dict):
        item["assets"] = {
            key: {**asset, "href": resolve(base, asset["href"])}
            if isinstance(asset, dict) and isinstance(asset.get("href"), str)
            else asset
            for key, asset in assets.items()
        }
    return item


def locate(
    target: str,
    version: str | None = None,
    lab: Lab | str | os.PathLike[str] | None = None,
    *,
    endpoint_url: str | None = None,
    reader: Reader | None = None,
) -> Located:
    """Find the dataset ``target`` (``NAME[@VERSION]``, a dataset folder or a collection URL)."""
    reader = reader or Reader(endpoint_url)
    target = os.fspath(target)
    if lab is None and (_looks_like_location(target) or _is_dataset_folder(target)):
        return _open_direct(target, version, reader)
    name, at_version = split_name(target)
    if version and at_version and version != at_version:
        raise InputError(f"two versions given: {target} and version={version!r}")
    version = version or at_version
    where = locate_lab_or_site(lab)
    if isinstance(where, Lab):
        return _from_lab(where, name, version, reader)
    return _from_site(where, name, version, reader)


def _is_dataset_folder(target: str) -> bool:
    return os.path.isfile(os.path.join(target, "collection.json"))


def _open_direct(target: str, version: str | None, reader: Reader) -> Located:
    """A dataset folder, or the location of a collection.json."""
    if not is_remote(target) and os.path.isdir(local_path(target)):
        folder = local_path(target)
        if os.path.isfile(os.path.join(folder, CONFIG_NAME)):
            raise InputError(
                f"{folder} is a lab: name a dataset in it",
                hint=f"e.g. NAME --lab {target}",
            )
        location = os.path.join(folder, "collection.json")
        if not os.path.isfile(location):
            if os.path.isfile(os.path.join(folder, "catalog.json")):
                raise InputError(
                    f"{folder} is a catalog: name a dataset in it",
                    hint=f"e.g. NAME --lab {target}",
                )
            raise InputError(f"{folder}: no collection.json here")
        ndjson = os.path.join(folder, ITEMS_NDJSON)
        if os.path.isfile(ndjson):
            collection = load_json(reader, location)
            return Located(
                str(collection.get("id") or Path(folder).name),
                version or collection.get("version"),
                "folder",
                location,
                collection,
                reader,
                lambda: _ndjson_items(Path(ndjson)),
            )
        return _collection_at(location, version, reader, "catalog")
    location = target
    if not target.endswith(".json"):
        location = join(target, "collection.json")
    return _collection_at(location, version, reader, "catalog")


def _ndjson_items(path: Path) -> Iterator[dict[str, Any]]:
    base = str(path)
    with path.open("rb") as handle:
        for line in handle:
            if line.strip():
                yield absolute_assets(orjson.loads(line), base)


def _from_lab(lab: Lab, name: str, version: str | None, reader: Reader) -> Located:
    if reader.endpoint_url is None and lab.config.store.endpoint_url:
        reader.endpoint_url = lab.config.store.endpoint_url  # the lab's own S3 endpoint
    folder = lab.dataset(name)
    if not folder.exists():
        names = ", ".join(lab.dataset_names()) or "none"
        raise InputError(f"no dataset {name!r} in the lab {lab.root}", hint=f"datasets: {names}")
    collection = folder.read_collection()
    items_base = str(folder.items_path)
    if version is None or str(collection.get("version")) == version:
        return Located(
            name,
            collection.get("version"),
            "lab",
            str(folder.collection_path),
            collection,
            reader,
            lambda: _ndjson_items(folder.items_path),
        )
    return _from_git(lab, name, version, reader, items_base)


def _from_git(lab: Lab, name: str, version: str, reader: Reader, items_base: str) -> Located:
    """A published version of a local lab: read at the git tag NAME@VERSION."""
    tag = f"{name}@{version}"
    if not git.is_repo(lab.root) or tag not in git.tags(lab.root, tag):
        raise InputError(
            f"no version {version} of {name} in the lab {lab.root} (no git tag {tag})",
            hint="published versions are git tags NAME@VERSION; `git tag --list` shows them",
        )
    repo = git.repo_root(lab.root)
    relative = (lab.dataset(name).path.relative_to(repo)).as_posix()
    data = git.show(repo, tag, f"{relative}/collection.json")
    if data is None:
        raise InputError(f"{tag} has no {relative}/collection.json")
    collection = orjson.loads(data)

    def items() -> Iterator[dict[str, Any]]:
        for line in git.stream_lines(repo, tag, f"{relative}/{ITEMS_NDJSON}"):
            if line.strip():
                yield absolute_assets(orjson.loads(line), items_base)

    location = str(lab.dataset(name).collection_path)
    return Located(name, version, "lab", location, collection, reader, items)


def _site_root(where: str, reader: Reader) -> tuple[str, dict[str, Any]]:
    """The location of the site's catalog.json, and the catalog."""
    location = where if where.endswith(".json") else join(where, "catalog.json")
    try:
        return location, load_json(reader, location)
    except NotFoundError:
        raise InputError(
            f"no catalog.json at {location}",
            hint="point --lab at a built site (the folder or URL holding catalog.json), an"
            " s3://bucket/prefix holding one, or a lab folder",
        ) from None


def _from_site(where: str, name: str, version: str | None, reader: Reader) -> Located:
    root, catalog = _site_root(where, reader)
    if NAME_PATTERN.match(name):  # our layout: datasets/NAME[/v/VERSION]/collection.json
        latest = resolve(root, f"datasets/{name}/collection.json")
        versioned = resolve(root, f"datasets/{name}/v/{version}/collection.json")
        for location in [versioned, latest] if version else [latest]:
            try:
                collection = load_json(reader, location)
            except NotFoundError:
                continue
            if location == latest and version and str(collection.get("version")) != version:
                raise InputError(
                    f"no version {version} of {name!r} at {root}"
                    f" (the latest is {collection.get('version')})",
                    hint=f"`eotdl get {name}` gets the latest; versions live at"
                    f" datasets/{name}/v/VERSION/",
                )
            return _collection_from(location, collection, version, reader, "site")
    found = _find_child(root, catalog, name, reader)
    if found is None:
        raise InputError(
            f"no dataset {name!r} at {root}",
            hint=f"datasets there: {', '.join(_child_ids(root, catalog)) or 'none'}",
        )
    location, collection = found
    if version and str(collection.get("version")) != version:
        raise InputError(
            f"{name!r} at {root} is version {collection.get('version')}, not {version}"
        )
    return _collection_from(location, collection, version, reader, "catalog")


def _children(root: str, catalog: dict[str, Any]) -> list[str]:
    return [
        resolve(root, link["href"])
        for link in catalog.get("links") or []
        if isinstance(link, dict) and link.get("rel") == "child" and link.get("href")
    ]


def _child_ids(root: str, catalog: dict[str, Any]) -> list[str]:
    ids = []
    for link in catalog.get("links") or []:
        if isinstance(link, dict) and link.get("rel") == "child":
            href = str(link.get("href", ""))
            parts = href.rstrip("/").split("/")
            ids.append(parts[-2] if parts[-1].endswith(".json") and len(parts) > 1 else parts[-1])
    return sorted(set(ids))


def _find_child(
    root: str, catalog: dict[str, Any], name: str, reader: Reader, depth: int = 3
) -> tuple[str, dict[str, Any]] | None:
    """Breadth-first search of child links for a collection whose id is ``name``."""
    level = [(root, catalog)]
    for _ in range(depth):
        following = []
        for location, node in level:
            for child in _children(location, node):
                try:
                    doc = load_json(reader, child)
                except NotFoundError:
                    continue
                if doc.get("type") == "Collection" and doc.get("id") == name:
                    return child, doc
                following.append((child, doc))
        level = following
    return None


def _collection_at(location: str, version: str | None, reader: Reader, kind: str) -> Located:
    try:
        collection = load_json(reader, location)
    except NotFoundError:
        raise InputError(f"no collection at {location}") from None
    if collection.get("type") != "Collection":
        raise InputError(
            f"{location} is a {collection.get('type') or 'JSON document'}, not a Collection",
            hint="for a catalog, name the dataset: NAME --lab CATALOG_URL",
        )
    return _collection_from(location, collection, version, reader, kind)


def _collection_from(
    location: str, collection: dict[str, Any], version: str | None, reader: Reader, kind: str
) -> Located:
    name = str(collection.get("id") or "dataset")
    parquet = resolve(location, PARQUET)

    def items() -> Iterator[dict[str, Any]]:
        try:
            table = read_parquet(parquet, reader)
        except NotFoundError:
            yield from linked_items(location, collection, reader)
            return
        yield from _parquet_items(parquet, table)

    return Located(
        name, version or collection.get("version"), kind, location, collection, reader, items
    )


def _item_links(location: str, collection: dict[str, Any]) -> list[str]:
    return [
        resolve(location, link["href"])
        for link in collection.get("links") or []
        if isinstance(link, dict) and link.get("rel") == "item" and link.get("href")
    ]


def linked_items(
    location: str, collection: dict[str, Any], reader: Reader, depth: int = 4
) -> Iterator[dict[str, Any]]:
    """Items linked from a collection (and from its child catalogs), read in parallel."""
    links = _item_links(location, collection)
    with ThreadPoolExecutor(max_workers=16) as pool:
        for href, item in zip(links, pool.map(lambda h: load_json(reader, h), links), strict=True):
            yield absolute_assets(item, href)
    if depth > 0:
        for child in _children(location, collection):
            yield from linked_items(child, load_json(reader, child), reader, depth - 1)


def _parquet_items(parquet: str, table: pa.Table) -> Iterator[dict[str, Any]]:
    """Items of ``items.parquet``: relative hrefs there are relative to its own folder."""
    for item in table_items(table):
        yield absolute_assets(item, parquet)
