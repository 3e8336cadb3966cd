"""Tiny STAC objects for tests, built in code (no files from outside the test)."""

from __future__ import annotations

from typing import Any


def item(item_id: str, collection: str | None = "ds", **properties: Any) -> dict[str, Any]:
    """A minimal valid STAC 1.0 Item."""
    props = {"datetime": "2023-05-01T10:00:00Z", **properties}
    links = [{"rel": "collection", "href": "./collection.json"}] if collection else []
    obj: dict[str, Any] = {
        "type": "Feature",
        "stac_version": "1.0.0",
        "stac_extensions": [],
        "id": item_id,
        "geometry": {"type": "Point", "coordinates": [1.0, 2.0]},
        "bbox": [1.0, 2.0, 1.0, 2.0],
        "properties": props,
        "links": links,
        "assets": {},
    }
    if collection:
        obj["collection"] = collection
    return obj


def collection(collection_id: str = "ds") -> dict[str, Any]:
    """A minimal valid STAC 1.0 Collection."""
    return {
        "type": "Collection",
        "stac_version": "1.0.0",
        "stac_extensions": [],
        "id": collection_id,
        "description": "A test collection",
        "license": "CC-BY-4.0",
        "extent": {
            "spatial": {"bbox": [[-180.0, -90.0, 180.0, 90.0]]},
            "temporal": {"interval": [["2023-01-01T00:00:00Z", None]]},
        },
        "links": [],
    }
