"""A seeded lab of two synthetic datasets for search tests, and a brute-force search."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from shapely.geometry import box, shape
from synthetic import make_collection, make_item

from accessdata import build_site
from eotdl.catalog.geoparquet import items_to_arrow, sort_order
from eotdl.catalog.lab import Lab, init_lab

CLASSES = ["forest", "water", "urban"]
COLLECTIONS = {"alpha": 160, "beta": 120}


def search_items(name: str, count: int, seed: int) -> list[dict[str, Any]]:
    """Synthetic items with classes, splits, missing values and time ranges."""
    rng = random.Random(seed)
    items = []
    for i in range(count):
        item = make_item(i, name, seed)
        props = item["properties"]
        props["class"] = rng.choice(CLASSES)
        props["ml-aoi:split"] = rng.choice(["train", "validate", "test"])
        if rng.random() < 0.15:
            del props["eo:cloud_cover"]
        if rng.random() < 0.1:
            start = _time(props["datetime"])
            assert start is not None
            end = start + dt.timedelta(days=rng.randint(1, 60))
            props["start_datetime"] = props["datetime"]
            props["end_datetime"] = end.strftime("%Y-%m-%dT%H:%M:%SZ")
        items.append(item)
    return items


def make_search_lab(root: Path) -> Lab:
    lab = init_lab(root / "lab", title="Search test lab")
    for seed, (name, count) in enumerate(COLLECTIONS.items()):
        folder = lab.dataset(name)
        folder.path.mkdir(parents=True)
        folder.write_collection(make_collection(name, count))
        folder.write_items(search_items(name, count, seed))
    build_site(lab)
    return lab


def _time(text: str | None) -> dt.datetime | None:
    if text is None:
        return None
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def brute_force(
    items_by_collection: dict[str, list[dict[str, Any]]],
    *,
    collections: Sequence[str] | None = None,
    ids: Sequence[str] | None = None,
    bbox: Sequence[float] | None = None,
    interval: tuple[dt.datetime | None, dt.datetime | None] | None = None,
    predicate: Any = None,
    sort: tuple[str, bool] | None = None,
) -> list[str]:
    """The ids a search must return, in order (collections in order, items in the order of
    their ``items.parquet``: the build's space-time order)."""
    hits: list[tuple[int, int, dict[str, Any]]] = []
    for c_index, (name, items) in enumerate(items_by_collection.items()):
        if collections is not None and name not in collections:
            continue
        for row, item in enumerate(_file_order(items)):
            props = item["properties"]
            if ids is not None and item["id"] not in ids:
                continue
            if bbox is not None and not shape(item["geometry"]).intersects(box(*bbox)):
                continue
            if interval is not None:
                start = _time(props.get("start_datetime") or props.get("datetime"))
                end = _time(props.get("end_datetime") or props.get("datetime"))
                low, high = interval
                if (high is not None and start > high) or (low is not None and end < low):
                    continue
            if predicate is not None and not predicate(item):
                continue
            hits.append((c_index, row, item))
    if sort is not None:
        field, descending = sort

        def key(entry: tuple[int, int, dict[str, Any]]) -> Any:
            value = entry[2]["properties"].get(field) if field != "id" else entry[2]["id"]
            return value

        present = [h for h in hits if key(h) is not None]
        missing = [h for h in hits if key(h) is None]
        present.sort(key=lambda h: (h[0], h[1]))
        present.sort(key=key, reverse=descending)  # stable: ties keep collection/row order
        if descending:  # a stable descending sort must keep ties in ascending row order
            present = _stable_descending(present, key)
        hits = present + missing
    return [item["id"] for _, _, item in hits]


def _file_order(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Items in the order the build writes them to ``items.parquet``."""
    by_id = sorted(items, key=lambda i: i["id"])  # as items.ndjson holds them
    order = sort_order(items_to_arrow(by_id)).to_pylist()
    return [by_id[i] for i in order]


def _stable_descending(hits: list[Any], key: Any) -> list[Any]:
    groups: dict[Any, list[Any]] = {}
    for hit in hits:
        groups.setdefault(key(hit), []).append(hit)
    out = []
    for value in sorted(groups, reverse=True):
        out += sorted(groups[value], key=lambda h: (h[0], h[1]))
    return out
