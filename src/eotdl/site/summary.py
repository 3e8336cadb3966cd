"""What the site shows about a dataset, derived in one pass over its items.

Each item is reduced to a few *facts* (bbox, time, split, bytes), remembered by the build per
item line so an unchanged item is never parsed again. A dataset's summary (card fields, extent,
counts, size, quality level) is what the home page, the search index and the dataset page
share; the build stores it so an unchanged dataset costs nothing.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from typing import Any

from eotdl.catalog.card import Card
from eotdl.catalog.hrefkeys import site_object_key
from eotdl.catalog.tree import ItemEntry
from eotdl.catalog.vocabulary import SPLIT
from eotdl.site.markdown import plain_summary

#: Above this many items the map shows a grid of counts instead of every footprint.
MAX_FOOTPRINTS = 5000
_ROUND = 5


def item_facts(item: dict[str, Any]) -> list[Any]:
    """``[bbox, start, end, split, bytes, preview, label]`` of an Item (compact: stored for
    every item). ``preview`` is the store key of its thumbnail (``objects/…``) or its absolute
    URL; ``label`` its class (classification items)."""
    bbox = item.get("bbox")
    box = None
    if isinstance(bbox, list) and len(bbox) >= 4 and all(_is_number(v) for v in bbox):
        half = len(bbox) // 2
        box = [round(float(v), _ROUND) for v in (bbox[0], bbox[1], bbox[half], bbox[half + 1])]
    props = item.get("properties") if isinstance(item.get("properties"), dict) else {}
    assert isinstance(props, dict)
    start = props.get("start_datetime") or props.get("datetime")
    end = props.get("end_datetime") or props.get("datetime")
    split = props.get(SPLIT)
    size = 0
    assets = item.get("assets")
    if isinstance(assets, dict):
        for asset in assets.values():
            if isinstance(asset, dict) and _is_number(asset.get("file:size")):
                size += int(asset["file:size"])
    return [
        box,
        start if isinstance(start, str) else None,
        end if isinstance(end, str) else None,
        split if isinstance(split, str) else None,
        size,
        _preview(assets),
        _label(props),
    ]


def _preview(assets: Any) -> str | None:
    """Where an item's thumbnail is: its store key (``objects/…``), or an absolute URL."""
    if not isinstance(assets, dict):
        return None
    for key, asset in assets.items():
        if not isinstance(asset, dict) or not isinstance(asset.get("href"), str):
            continue
        if key != "thumbnail" and "thumbnail" not in (asset.get("roles") or []):
            continue
        href = str(asset["href"])
        key = site_object_key(href)
        if key is not None:
            return key
        if href.startswith(("https://", "http://")):
            return href
    return None


def _label(props: dict[str, Any]) -> str | None:
    """The class of a classification item (its first ``label:properties`` value)."""
    keys = props.get("label:properties")
    if isinstance(keys, list) and keys and isinstance(keys[0], str):
        value = props.get(keys[0])
        if isinstance(value, str | int) and not isinstance(value, bool):
            return str(value)
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


class FactsAccumulator:
    """Extent, time span, split counts and bytes over the facts of every item."""

    def __init__(self) -> None:
        self.bbox = [math.inf, math.inf, -math.inf, -math.inf]
        self.start: str | None = None
        self.end: str | None = None
        self.splits: Counter[str] = Counter()
        self.size = 0
        self.count = 0

    def add(self, facts: Any) -> None:
        self.count += 1
        if not isinstance(facts, list) or len(facts) < 5:
            return
        box, start, end, split, size = facts[:5]
        if box:
            self.bbox = [
                min(self.bbox[0], box[0]),
                min(self.bbox[1], box[1]),
                max(self.bbox[2], box[2]),
                max(self.bbox[3], box[3]),
            ]
        if start and (self.start is None or start < self.start):
            self.start = start
        if end and (self.end is None or end > self.end):
            self.end = end
        self.splits[split or "none"] += 1
        self.size += int(size or 0)

    @property
    def extent(self) -> list[float] | None:
        return self.bbox if math.isfinite(self.bbox[0]) else None

    def merge(self, other: FactsAccumulator) -> None:
        """Add what ``other`` accumulated (over other items)."""
        self.count += other.count
        self.size += other.size
        self.splits.update(other.splits)
        self.merge_extremes(other.extremes())

    def extremes(self) -> list[Any]:
        """``[bbox or None, start, end]``: what cannot be subtracted (JSON-able)."""
        return [self.extent, self.start, self.end]

    def merge_extremes(self, extremes: list[Any]) -> None:
        box, start, end = extremes
        if box:
            self.bbox = _union(self.bbox, box)
        if start and (self.start is None or start < self.start):
            self.start = start
        if end and (self.end is None or end > self.end):
            self.end = end


def collection_bbox(collection: dict[str, Any]) -> list[float] | None:
    """The first bbox of a collection's spatial extent."""
    try:
        box = collection["extent"]["spatial"]["bbox"][0]
        half = len(box) // 2
        return [float(box[0]), float(box[1]), float(box[half]), float(box[half + 1])]
    except (KeyError, IndexError, TypeError, ValueError):
        return None


def collection_interval(collection: dict[str, Any]) -> tuple[str | None, str | None]:
    """The first interval of a collection's temporal extent."""
    try:
        start, end = collection["extent"]["temporal"]["interval"][0][:2]
    except (KeyError, IndexError, TypeError, ValueError):
        return None, None
    return (start if isinstance(start, str) else None, end if isinstance(end, str) else None)


def dataset_summary(
    group: str,
    name: str,
    collection: dict[str, Any],
    card: Card,
    facts: FactsAccumulator,
    level: str | None,
    thumbnail: str,
) -> dict[str, Any]:
    """The summary of one dataset or model (JSON-able; hrefs relative to the site root)."""
    bbox = facts.extent or collection_bbox(collection)
    start, end = facts.start, facts.end
    if start is None and end is None:
        start, end = collection_interval(collection)
    description = card.description or plain_summary(str(collection.get("description") or ""))
    size = facts.size + _asset_bytes(collection)
    return {
        "id": name,
        "group": group,
        "title": card.title or str(collection.get("title") or name),
        "description": description,
        "tasks": [str(t) for t in card.tasks],
        "kind": card.kind or "",
        "license": card.license or str(collection.get("license") or ""),
        "level": level,
        "tags": [str(t) for t in card.tags],
        "authors": [str(a) for a in card.authors],
        "providers": _providers(collection),
        "version": str(collection.get("version") or ""),
        "bbox": [round(v, 4) for v in bbox] if bbox else None,
        "start": start,
        "end": end,
        "items": facts.count,
        "size": size,
        "splits": dict(sorted(facts.splits.items())) if facts.count else {},
        "thumbnail": thumbnail,
        "url": f"{group}/{name}/",
    }


def _asset_bytes(obj: dict[str, Any]) -> int:
    total = 0
    assets = obj.get("assets")
    if isinstance(assets, dict):
        for asset in assets.values():
            if isinstance(asset, dict) and _is_number(asset.get("file:size")):
                total += int(asset["file:size"])
    return total


def _providers(collection: dict[str, Any]) -> list[dict[str, str]]:
    found = []
    for provider in collection.get("providers") or []:
        if isinstance(provider, dict) and isinstance(provider.get("name"), str):
            url = provider.get("url")
            found.append(
                {
                    "name": provider["name"],
                    "url": url if isinstance(url, str) and url.startswith("http") else "",
                    "roles": ", ".join(str(r) for r in provider.get("roles") or []),
                }
            )
    return found


def footprints(entries: Iterable[ItemEntry], item_pages: bool) -> dict[str, Any]:
    """The map's data: every item's bbox, or a grid of counts above :data:`MAX_FOOTPRINTS`.

    ``entries`` may be the rows a build streams: at most :data:`MAX_FOOTPRINTS` boxes are held;
    a grid reads them a second time, binning each into the extent found by the first."""
    found = Footprints(item_pages)
    for entry in entries:
        found.add(entry)
    if found.grid:
        for entry in entries:
            found.bin(entry)
    return found.data()


class Footprints:
    """The map's data from streamed items: :meth:`add` each one; when :attr:`grid` is then
    true, :meth:`bin` each one again (the grid's extent is known only after the first pass)."""

    def __init__(self, item_pages: bool, after: int = 0) -> None:
        """``after``: the boxes of items before these (given to another :class:`Footprints`
        this one is merged into), so that a grid's items are not listed."""
        self.item_pages = item_pages
        self.items: list[list[Any]] = []
        self.extent = [math.inf, math.inf, -math.inf, -math.inf]
        self.boxes = 0
        self.after = after
        self._cells: _Grid | None = None

    def add(self, entry: ItemEntry) -> None:
        box = _box_of(entry)
        if box is None:
            return
        self.boxes += 1
        extent = self.extent
        self.extent = [
            min(extent[0], box[0]),
            min(extent[1], box[1]),
            max(extent[2], box[2]),
            max(extent[3], box[3]),
        ]
        if self.boxes + self.after <= MAX_FOOTPRINTS:
            facts = entry.facts
            preview = facts[5] if len(facts) > 5 else None
            # [id, w, s, e, n, split, preview (store key or URL, or null)]
            self.items.append([entry.id, *box, facts[3], preview])
        elif self.items:
            self.items = []

    @property
    def grid(self) -> bool:
        return self.boxes > MAX_FOOTPRINTS

    def bounds(self) -> list[float] | None:
        """The extent of the boxes added (None: none), JSON-able."""
        return self.extent if math.isfinite(self.extent[0]) else None

    def merge(self, other: Footprints) -> None:
        """Add what ``other`` was given (the items after this one's)."""
        self.boxes += other.boxes
        self.merge_bounds(other.bounds())
        self.items = self.items + other.items if self.boxes <= MAX_FOOTPRINTS else []

    def merge_bounds(self, bounds: list[float] | None) -> None:
        """Widen the extent to ``bounds`` (other items')."""
        if bounds:
            self.extent = _union(self.extent, bounds)

    def cells(self) -> dict[tuple[int, int], list[float]]:
        """The grid's cells by key, ``[w, s, e, n, count]`` each (made now if not yet)."""
        if self._cells is None:
            self._cells = _Grid(self.extent)
        return self._cells.by_key

    def cell_of(self, box: list[float]) -> tuple[int, int]:
        """The key of the grid cell ``box`` is counted in."""
        if self._cells is None:
            self._cells = _Grid(self.extent)
        return self._cells.key(box)

    def bin(self, entry: ItemEntry) -> None:
        box = _box_of(entry)
        if box is not None:
            if self._cells is None:
                self._cells = _Grid(self.extent)
            self._cells.add(box)

    def data(self) -> dict[str, Any]:
        if not self.grid:
            return {"kind": "items", "pages": self.item_pages, "items": self.items}
        return {"kind": "grid", "cells": self._cells.cells() if self._cells else []}


def _box_of(entry: ItemEntry) -> list[float] | None:
    facts = entry.facts
    if isinstance(facts, list) and facts and facts[0]:
        return list(facts[0])
    return None


class _Grid:
    """Bboxes aggregated into at most ~:data:`MAX_FOOTPRINTS` cells: [w, s, e, n, count]."""

    def __init__(self, extent: list[float]) -> None:
        self.west, self.south, east, north = extent
        self.side = max(1, int(math.sqrt(MAX_FOOTPRINTS)))
        self.width = max((east - self.west) / self.side, 1e-9)
        self.height = max((north - self.south) / self.side, 1e-9)
        self.by_key: dict[tuple[int, int], list[float]] = {}

    def key(self, box: list[float]) -> tuple[int, int]:
        side = self.side
        cx = min(side - 1, int(((box[0] + box[2]) / 2 - self.west) / self.width))
        cy = min(side - 1, int(((box[1] + box[3]) / 2 - self.south) / self.height))
        return cx, cy

    def add(self, box: list[float]) -> None:
        key = self.key(box)
        cell = self.by_key.get(key)
        if cell is None:
            self.by_key[key] = [box[0], box[1], box[2], box[3], 1]
        else:
            cell[0] = min(cell[0], box[0])
            cell[1] = min(cell[1], box[1])
            cell[2] = max(cell[2], box[2])
            cell[3] = max(cell[3], box[3])
            cell[4] += 1

    def cells(self) -> list[list[float]]:
        return [[round(v, _ROUND) for v in c[:4]] + [c[4]] for _, c in sorted(self.by_key.items())]


def _union(a: list[float], b: list[float]) -> list[float]:
    return [min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])]


def human_size(size: int | float | None) -> str:
    """Bytes as a short human string (``1.2 GB``)."""
    if not size:
        return "—"
    value = float(size)
    for unit in ("B", "kB", "MB", "GB", "TB", "PB"):
        if value < 1000 or unit == "PB":
            return f"{value:.0f} {unit}" if unit == "B" or value >= 100 else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} PB"  # pragma: no cover


def human_count(count: int | None) -> str:
    """A count with thousands separators."""
    return f"{count or 0:,}"
