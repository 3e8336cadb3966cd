"""Synthetic STAC items for benchmarks, the demo and tests (seeded, so runs are repeatable).

Items look like real chips of a Sentinel-2 training set: geometry in UTM-ish tiles, eo bands,
projection, raster statistics and file checksums.
"""

from __future__ import annotations

import hashlib
import random
from typing import Any

EXTENSIONS = [
    "https://stac-extensions.github.io/eo/v1.1.0/schema.json",
    "https://stac-extensions.github.io/projection/v1.1.0/schema.json",
    "https://stac-extensions.github.io/raster/v1.1.0/schema.json",
    "https://stac-extensions.github.io/file/v2.1.0/schema.json",
]
BANDS = [
    ("B02", "blue", 0.49),
    ("B03", "green", 0.56),
    ("B04", "red", 0.665),
    ("B08", "nir", 0.842),
]


def make_item(index: int, collection: str = "synthetic", seed: int = 0) -> dict[str, Any]:
    """One valid STAC 1.0 Item with eo/projection/raster/file fields."""
    rng = random.Random(seed * 1_000_003 + index)
    lon = -10 + (index % 300) * 0.05
    lat = 35 + (index // 300 % 300) * 0.05
    size = 0.02
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    digest = hashlib.sha256(f"{collection}-{seed}-{index}".encode()).hexdigest()
    day = 1 + index % 28
    month = 1 + index % 12
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "stac_extensions": EXTENSIONS,
        "id": f"{collection}-{index:07d}",
        "collection": collection,
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "bbox": [lon, lat, lon + size, lat + size],
        "properties": {
            "datetime": f"2023-{month:02d}-{day:02d}T10:30:00Z",
            "proj:epsg": 32630,
            "proj:shape": [64, 64],
            "proj:transform": [10.0, 0.0, 500000.0 + index * 640, 0.0, -10.0, 4000000.0, 0, 0, 1],
            "eo:cloud_cover": round(rng.uniform(0, 30), 2),
            "gsd": 10,
        },
        "links": [{"rel": "collection", "href": "./collection.json", "type": "application/json"}],
        "assets": {
            "image": {
                "href": f"../../store/objects/sha256/{digest[:2]}/{digest[2:]}.tif",
                "type": "image/tiff; application=geotiff; profile=cloud-optimized",
                "roles": ["data"],
                "file:checksum": "1220" + digest,
                "file:size": 4 * 64 * 64 * 2 + 1024,
                "eo:bands": [
                    {"name": n, "common_name": c, "center_wavelength": w} for n, c, w in BANDS
                ],
                "raster:bands": [
                    {
                        "data_type": "uint16",
                        "nodata": 0,
                        "spatial_resolution": 10,
                        "statistics": {
                            "minimum": rng.randint(1, 100),
                            "maximum": rng.randint(3000, 9000),
                            "mean": round(rng.uniform(500, 2000), 3),
                            "stddev": round(rng.uniform(100, 500), 3),
                        },
                    }
                    for _ in BANDS
                ],
            }
        },
    }


def make_collection(name: str = "synthetic", count: int = 0) -> dict[str, Any]:
    """A STAC 1.0 Collection matching :func:`make_item`."""
    return {
        "type": "Collection",
        "stac_version": "1.0.0",
        "stac_extensions": [],
        "id": name,
        "title": f"Synthetic chips ({name})",
        "description": f"{count} synthetic Sentinel-2-like chips for testing and benchmarks.",
        "license": "CC-BY-4.0",
        "extent": {
            "spatial": {"bbox": [[-10.0, 35.0, 5.0, 50.0]]},
            "temporal": {"interval": [["2023-01-01T00:00:00Z", "2023-12-31T23:59:59Z"]]},
        },
        "links": [],
        "version": "1.0.0",
    }
