"""Every collection of a built site (or a local lab), searchable.

Loaded once per process: ``catalog.json`` and its child collections. A local
``items.parquet`` is searched in place (:mod:`.parquet_engine`: only its footer is read at
start); a remote one, a catalog's item links (when it has no parquet) and a lab's
``items.ndjson`` are read into memory. What ``eotdl search`` and ``eotdl serve`` read.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from eotdl.api.parquet_engine import ParquetTable
from eotdl.api.search import ItemIndex
from eotdl.api.table import ItemTable
from eotdl.catalog.geoparquet import sort_order
from eotdl.catalog.lab import CONFIG_NAME, Lab, locate_lab_or_site
from eotdl.catalog.locations import NotFoundError, Reader, is_remote, join, local_path, resolve
from eotdl.errors import InputError
from eotdl.read.finding import PARQUET, linked_items, load_json
from eotdl.read.parquet import items_to_table, read_parquet


@dataclass
class CollectionEntry:
    """One collection: its document, where it is, and its Items."""

    id: str
    location: str
    collection: dict[str, Any]
    table: ItemTable | ParquetTable


@dataclass
class SiteIndex:
    """A site's catalog and collections, searchable through ``index``."""

    root: str
    catalog: dict[str, Any]
    entries: dict[str, CollectionEntry]
    index: ItemIndex
    local_root: str | None = None

    @property
    def title(self) -> str:
        return str(self.catalog.get("title") or self.catalog.get("id") or "eotdl")

    @property
    def items(self) -> int:
        """How many items the site's collections hold."""
        return sum(len(entry.table) for entry in self.entries.values())


def load_index(
    where: Lab | str | os.PathLike[str] | None = None,
    reader: Reader | None = None,
    *,
    prefer_site: bool = True,
    endpoint_url: str | None = None,
) -> SiteIndex:
    """Load a built site (folder, URL or ``s3://`` prefix with catalog.json) or a lab folder.

    ``where`` is found by :func:`~eotdl.catalog.lab.locate_lab_or_site` (default:
    ``$EOTDL_LAB``, else the lab here: its built site when there is one, with ``prefer_site``).
    """
    reader = reader or Reader(endpoint_url)
    found = locate_lab_or_site(where, prefer_site=prefer_site)
    if isinstance(found, Lab):
        return _from_lab(found)
    where = found
    root = where if where.endswith(".json") else join(where, "catalog.json")
    try:
        catalog = load_json(reader, root)
    except NotFoundError:
        raise InputError(
            f"no catalog.json at {root}",
            hint="point at a built site (`eotdl build` writes one into _site/), or a lab folder",
        ) from None
    entries: dict[str, CollectionEntry] = {}
    for location, collection in _collections(root, catalog, reader):
        entry = _entry(location, collection, reader)
        entries.setdefault(entry.id, entry)
    local_root = None if is_remote(root) else os.path.dirname(local_path(root))
    return SiteIndex(
        root, catalog, entries, ItemIndex(e.table for e in entries.values()), local_root
    )


def use_search_allocator() -> None:
    """Arrow's buffers from jemalloc (else the C library's malloc) for a process that
    searches in place.

    Each query allocates and frees a few row groups' worth of buffers from one of the
    server's many threads. Measured at 1M items (1,080 queries of bench_search_scale.py's
    kinds from one client): with glibc's malloc for Arrow's buffers and mimalloc (Arrow's
    default) for its internal ones, the server's resident memory kept growing, 740 MB to
    1,050 MB; with jemalloc for both it stayed at 510-535 MB, and bbox queries were faster
    (p50 10-13 ms against 20-33 ms in the same runs). Arrow's internal buffers follow only
    ``ARROW_DEFAULT_MEMORY_POOL`` read when pyarrow is imported, so ``eotdl serve`` sets it to
    jemalloc before that; this sets the pool of the reads made here. A user's
    ``ARROW_DEFAULT_MEMORY_POOL`` wins.
    """
    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        return
    try:
        pa.set_memory_pool(pa.jemalloc_memory_pool())
    except NotImplementedError:  # a pyarrow built without jemalloc
        pa.set_memory_pool(pa.system_memory_pool())


def _collections(
    root: str, catalog: dict[str, Any], reader: Reader, depth: int = 4
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every collection under the catalog's child links (sub-catalogs are walked)."""
    for link in catalog.get("links") or []:
        if not isinstance(link, dict) or link.get("rel") != "child" or not link.get("href"):
            continue
        location = resolve(root, str(link["href"]))
        try:
            child = load_json(reader, location)
        except NotFoundError:
            continue
        if child.get("type") == "Collection":
            yield location, child
        elif depth > 0:
            yield from _collections(location, child, reader, depth - 1)


def _entry(location: str, collection: dict[str, Any], reader: Reader) -> CollectionEntry:
    collection_id = str(collection.get("id") or Path(location).parent.name)
    parquet = resolve(location, PARQUET)
    if not is_remote(parquet) and os.path.isfile(local_path(parquet)):
        use_search_allocator()
        try:
            searched = ParquetTable(collection_id, local_path(parquet), parquet)
        except (pa.ArrowInvalid, OSError) as exc:
            raise InputError(f"{parquet}: not a readable parquet file: {exc}") from None
        return CollectionEntry(collection_id, location, collection, searched)
    try:
        table = read_parquet(parquet, reader, by_id=False)  # file order, as searched in place
    except NotFoundError:
        items = list(linked_items(location, collection, reader))
        return CollectionEntry(
            collection_id, location, collection, ItemTable(collection_id, items_to_table(items))
        )
    return CollectionEntry(
        collection_id, location, collection, ItemTable(collection_id, table, parquet)
    )


def _from_lab(lab: Lab) -> SiteIndex:
    """A local lab, straight from its items.ndjson files (no build needed), each in the
    order a build writes it to ``items.parquet``, so a search answers as over the site."""
    entries: dict[str, CollectionEntry] = {}
    for folder in [*lab.datasets(), *lab.models()]:
        collection = folder.read_collection()
        collection_id = str(collection.get("id") or folder.name)
        table = items_to_table(folder.iter_items())
        if table.num_rows:  # in the order of the parquet file a build writes
            table = table.take(sort_order(table))
        entries[collection_id] = CollectionEntry(
            collection_id,
            str(folder.collection_path),
            collection,
            ItemTable(collection_id, table, str(folder.items_path)),
        )
    catalog = {
        "type": "Catalog",
        "id": "lab",
        "title": lab.config.title,
        "description": f"{lab.config.title} (read from the lab folder)",
        "links": [],
    }
    return SiteIndex(
        str(lab.root / CONFIG_NAME),
        catalog,
        entries,
        ItemIndex(e.table for e in entries.values()),
        None,
    )
