"""Contract case: a Radiant MLHub-style STAC 0.8.1 catalog (imagery collection + labels
collection with ``source`` links) with tiny GeoTIFFs and GeoJSON labels, a random split.

:func:`write_catalog` is shared with ``test_stac_import.py``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cases import Case
from rastergen import write_tif

KIND = "stac"
CLASSES = ("water", "forest")


def _dump(path: Path, obj: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2))


def _box(i: int) -> tuple[dict[str, Any], list[float]]:
    west, south = 1.38 + 0.02 * i, 43.60
    east, north = west + 0.01, south + 0.01
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}, [west, south, east, north]


def _collection(cid: str, version: str, items: list[str]) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "id": cid,
        "stac_version": version,
        "description": f"The {cid} of a tiny test catalog",
        "license": "CC-BY-4.0",
        "providers": [{"name": "eotdl tests", "roles": ["producer"]}],
        "extent": {
            "spatial": {"bbox": [[1.38, 43.6, 1.47, 43.61]]},
            "temporal": {"interval": [["2021-03-04T00:00:00Z", None]]},
        },
        "links": [{"rel": "root", "href": "../catalog.json"}]
        + [{"rel": "item", "href": href} for href in items],
    }
    if not version.startswith("0."):
        obj["type"] = "Collection"
    return obj


def write_catalog(root: Path, n: int = 4, *, version: str = "0.8.1") -> Path:
    """An MLHub-style catalog of ``n`` samples in ``root``; returns its catalog.json.

    Imagery items ``scene_<i>`` (asset ``image``, ``eo:bands`` by index as in 0.8) and label
    items ``scene_<i>-labels`` (asset ``labels``, pre-1.0 label field names, a ``source``
    link). The same ``n`` and ``version`` always give the same bytes.
    """
    old = version.startswith("0.")
    image_items, label_items = [], []
    for i in range(n):
        sid = f"scene_{i}"
        geometry, bbox = _box(i)
        write_tif(
            root / "source" / sid / "image.tif", seed=i, bands=2, size=16, offset=(i * 200.0, 0.0)
        )
        props: dict[str, Any] = {"datetime": f"2021-03-0{4 + i % 5}T10:00:00Z"}
        asset: dict[str, Any] = {"href": "./image.tif", "type": "image/tiff; application=geotiff"}
        if old:
            props.update(
                {
                    "eo:gsd": 10,
                    "eo:platform": "sentinel-2a",
                    "eo:cloud_cover": 3,
                    "eo:bands": [
                        {"name": "B04", "common_name": "red"},
                        {"name": "B08", "common_name": "nir"},
                    ],
                }
            )
            asset["eo:bands"] = [0, 1]
        else:
            props.update({"gsd": 10, "platform": "sentinel-2a", "eo:cloud_cover": 3})
            asset["eo:bands"] = [
                {"name": "B04", "common_name": "red"},
                {"name": "B08", "common_name": "nir"},
            ]
        _dump(
            root / "source" / sid / f"{sid}.json",
            {
                "type": "Feature",
                "stac_version": version,
                "id": sid,
                "stac_extensions": ["eo"]
                if old
                else ["https://stac-extensions.github.io/eo/v1.0.0/schema.json"],
                "geometry": geometry,
                "bbox": bbox,
                "properties": props,
                "links": [{"rel": "parent", "href": "../collection.json"}],
                "assets": {"image": asset},
            },
        )
        image_items.append(f"./{sid}/{sid}.json")

        lid = f"{sid}-labels"
        cls = CLASSES[i % 2]
        (root / "labels" / lid).mkdir(parents=True, exist_ok=True)
        _dump(
            root / "labels" / lid / "labels.geojson",
            {
                "type": "FeatureCollection",
                "features": [
                    {"type": "Feature", "properties": {"class": cls}, "geometry": geometry}
                ],
            },
        )
        fields = (
            {
                "label:description": "",
                "label:type": "vector",
                "label:property": ["class"],
                "label:task": ["classification"],
                "label:classes": [{"name": "class", "classes": list(CLASSES)}],
                "label:overview": {"property_key": "class", "counts": [{"name": cls, "count": 1}]},
            }
            if old
            else {
                "label:description": "land cover",
                "label:type": "vector",
                "label:properties": ["class"],
                "label:tasks": ["classification"],
                "label:classes": [{"name": "class", "classes": list(CLASSES)}],
            }
        )
        _dump(
            root / "labels" / lid / f"{lid}.json",
            {
                "type": "Feature",
                "stac_version": version,
                "id": lid,
                "stac_extensions": ["label"]
                if old
                else ["https://stac-extensions.github.io/label/v1.0.0/schema.json"],
                "geometry": geometry,
                "bbox": bbox,
                "properties": {"datetime": "2021-03-04T00:00:00Z", **fields},
                "links": [
                    {"rel": "source", "href": f"../../source/{sid}/{sid}.json"},
                    {"rel": "parent", "href": "../collection.json"},
                ],
                "assets": {"labels": {"href": "./labels.geojson", "type": "application/geo+json"}},
            },
        )
        label_items.append(f"./{lid}/{lid}.json")
    _dump(root / "source" / "collection.json", _collection("source", version, image_items))
    _dump(root / "labels" / "collection.json", _collection("labels", version, label_items))
    catalog: dict[str, Any] = {
        "id": "tiny",
        "stac_version": version,
        "description": "A tiny MLHub-style catalog",
        "links": [
            {"rel": "root", "href": "./catalog.json"},
            {"rel": "child", "href": "./source/collection.json"},
            {"rel": "child", "href": "./labels/collection.json"},
        ],
    }
    if not old:
        catalog["type"] = "Catalog"
    _dump(root / "catalog.json", catalog)
    return root / "catalog.json"


def make_case(tmp_path: Path) -> Case:
    return Case(
        source=str(write_catalog(tmp_path / "catalog")),
        split="random:0.5,0.25,0.25",
        items=4,
        splits={"train": 2, "validate": 1, "test": 1},
    )
