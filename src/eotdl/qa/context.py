"""What every check is given: the dataset, read lazily and once, and its rasters' facts."""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from typing import Any

from eotdl.catalog import ndjson
from eotdl.catalog.card import Card
from eotdl.catalog.compute import in_order
from eotdl.catalog.dataset import DatasetFolder
from eotdl.catalog.hrefkeys import StoreKeys
from eotdl.catalog.lab import Lab
from eotdl.catalog.paths import LocalRoot, local_href_path
from eotdl.catalog.store import StoreSpec
from eotdl.catalog.vocabulary import SPLIT, AssetRef, asset_refs
from eotdl.errors import InputError, LabError
from eotdl.qa.rasters import RasterFacts, RasterSource, inspect_raster, is_raster_asset
from eotdl.qa.rasters import raster_source as _raster_source
from eotdl.storage import ObjectCheck, ObjectStore

#: Rasters inspected, or store objects re-hashed, by one task on a cluster.
BATCH = 16
#: A store object to re-hash: key, declared file:checksum and file:size.
Entry = tuple[str, str | None, int | None]


def is_raster(ref: AssetRef) -> bool:
    """Whether an asset is a raster the checks open."""
    return is_raster_asset({"type": ref.media_type, "href": ref.href})


class QAContext:
    """One dataset under QA. Items are streamed on demand; costly facts are computed once."""

    def __init__(
        self, lab: Lab, name: str, *, workers: int | None = None, client: Any = None
    ) -> None:
        self.lab = lab
        self.name = name
        self.folder: DatasetFolder = lab.dataset(name)
        if not self.folder.exists():
            raise LabError(
                f"no dataset {name!r} in {lab.root}",
                hint=f"known datasets: {', '.join(lab.dataset_names()) or 'none'}",
            )
        self.workers = workers or min(8, (os.cpu_count() or 2) * 2)
        #: A ``distributed.Client`` whose workers read the bytes (rasters, store objects)
        #: themselves, or None to read them here.
        self.client = client
        self._rasters: dict[tuple[str, str], RasterFacts] | None = None

    # -- metadata ---------------------------------------------------------------------

    @cached_property
    def collection(self) -> dict[str, Any] | None:
        """The collection, or None when collection.json cannot be read."""
        try:
            return self.folder.read_collection()
        except InputError:
            return None

    @cached_property
    def card(self) -> Card | None:
        """The dataset card, or None when README.md is missing or unreadable."""
        try:
            return self.folder.read_card()
        except InputError:
            return None

    @cached_property
    def card_error(self) -> str:
        """Why the card could not be read ('' when it was)."""
        try:
            self.folder.read_card()
        except InputError as exc:
            return exc.message
        return ""

    def iter_items(self) -> Iterator[dict[str, Any]]:
        """Every readable item, streaming; unreadable lines are the schema check's business."""
        if not self.folder.items_path.exists():
            return
        for line in ndjson.iter_lines(self.folder.items_path):
            try:
                obj = ndjson.parse_line(self.folder.items_path, line)
            except InputError:
                continue
            if isinstance(obj.get("id"), str):
                yield obj

    @cached_property
    def item_ids(self) -> set[str]:
        """Every item id (one pass, kept)."""
        return {item["id"] for item in self.iter_items()}

    @cached_property
    def item_count(self) -> int:
        """How many readable items there are."""
        return sum(1 for _ in self.iter_items())

    @cached_property
    def splits_claimed(self) -> bool:
        """Whether the dataset says it has splits (collection or any item)."""
        collection = self.collection or {}
        summaries = collection.get("summaries") or {}
        if isinstance(summaries, dict) and summaries.get(SPLIT):
            return True
        if any("ml-aoi" in str(ext) for ext in collection.get("stac_extensions") or []):
            return True
        return any(SPLIT in (i.get("properties") or {}) for i in self.iter_items())

    # -- bytes ------------------------------------------------------------------------

    @cached_property
    def store(self) -> ObjectStore:
        """The lab's object store (opened once)."""
        return self.store_keys.store

    @cached_property
    def store_keys(self) -> StoreKeys:
        """The lab's rules from an asset href to a store key (:mod:`eotdl.catalog.hrefkeys`)."""
        return StoreKeys(self.lab)

    def store_key(self, href: str) -> str | None:
        """The store key an asset href refers to (None: outside the lab's store)."""
        return self.store_keys.key(href, self.folder.path)

    def in_lab(self, href: str) -> bool:
        """Whether the lab holds the bytes of ``href`` (its store, or a regular file inside
        the lab, symlinks followed): only those are opened. Anything else would need a
        network, or is a file QA must never read (``/dev/stdin``, ``/etc/passwd``)."""
        if self.store_key(href) is not None:
            return True
        path = local_href_path(self.folder.path, href)
        return path is not None and LocalRoot(self.lab.root).allows(path)

    def raster_source(self, href: str) -> RasterSource:
        """What rasterio opens for an asset href of this dataset (InputError for an href
        outside the lab: see :meth:`in_lab`)."""
        if not self.in_lab(href):
            raise InputError(
                f"{href}: not in the lab's store nor a file inside the lab; QA does not open it"
            )
        return _raster_source(self.lab, self.folder.path, href)

    def raster_facts(self) -> dict[tuple[str, str], RasterFacts]:
        """Facts of every raster asset, keyed by (item id, asset key); read once, in parallel."""
        if self._rasters is None:
            refs = [
                r
                for item in self.iter_items()
                for r in asset_refs(item)
                if is_raster(r) and self.in_lab(r.href)
            ]
            jobs = [(self.raster_source(r.href), r.is_label) for r in refs]
            if self.client is not None:  # the workers open the rasters
                batches = [jobs[i : i + BATCH] for i in range(0, len(jobs), BATCH)]
                done = in_order(self.client, inspect_rasters, batches)
            else:
                with ThreadPoolExecutor(max_workers=self.workers) as pool:
                    done = pool.map(inspect_rasters, [[job] for job in jobs])
            facts = [f for batch in done for f in batch]
            self._rasters = {(r.item_id, r.key): f for r, f in zip(refs, facts, strict=True)}
        return self._rasters

    def verify_objects(self, entries: list[Entry]) -> list[ObjectCheck]:
        """Re-hash store objects ``(key, file:checksum, file:size)`` (sorted by key), on the
        cluster's workers when there is a client (they open the store themselves)."""
        if self.client is None:
            return self.store.verify_objects(entries, workers=self.workers, progress=False)
        spec = StoreSpec.of(self.lab)
        batches = [entries[i : i + BATCH] for i in range(0, len(entries), BATCH)]
        done = in_order(self.client, verify_objects, batches, spec)
        return sorted((check for batch in done for check in batch), key=lambda c: c.key)


def inspect_rasters(jobs: list[tuple[RasterSource, bool]]) -> list[RasterFacts]:
    """A task: the facts of each ``(raster, is a label mask)``."""
    return [inspect_raster(source, mask_values=is_label) for source, is_label in jobs]


def verify_objects(entries: list[Entry], spec: StoreSpec) -> list[ObjectCheck]:
    """A task: re-hash ``entries`` in the lab's store as this process opens it."""
    return spec.open().verify_objects(entries, progress=False)
