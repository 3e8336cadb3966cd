"""The search tests' two synthetic datasets (made by tests/labs.py), and a brute-force search."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from shapely.geometry import box, shape

from eotdl.catalog.geoparquet import items_to_arrow, sort_order
from labs import synthetic_items

COLLECTIONS = {"alpha": 160, "beta": 120}


def search_items(name: str, count: int, seed: int) -> list[dict[str, Any]]:
    """The items of dataset ``name`` as the lab factory makes them (``search_datasets``)."""
    return synthetic_items(name, count, seed, labelled=True)


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
