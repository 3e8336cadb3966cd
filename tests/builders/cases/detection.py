"""Contract case: four GeoTIFFs and GeoJSON boxes in lon/lat (one image has none)."""

from __future__ import annotations

import json
from pathlib import Path

from rasterio.warp import transform_geom

from cases import Case
from rastergen import CRS, ORIGIN, write_tif

KIND = "detection"


def _box(offset: float, xmin: int, ymin: int, xmax: int, ymax: int) -> dict:
    x0, y0 = ORIGIN[0] + offset, ORIGIN[1]
    left, right, top, bottom = x0 + 10 * xmin, x0 + 10 * xmax, y0 - 10 * ymin, y0 - 10 * ymax
    ring = [[left, bottom], [right, bottom], [right, top], [left, top], [left, bottom]]
    return transform_geom(CRS, "EPSG:4326", {"type": "Polygon", "coordinates": [ring]})


def make_case(tmp_path: Path) -> Case:
    source = tmp_path / "images"
    features = []
    for i in range(4):
        offset = i * 200.0
        write_tif(source / f"scene_{i}.tif", seed=i, bands=3, size=16, offset=(offset, 0.0))
        for j in range(i):
            features.append(
                {
                    "type": "Feature",
                    "properties": {"image": f"scene_{i}.tif", "class": ["car", "boat"][j % 2]},
                    "geometry": _box(offset, j, j, j + 4, j + 3),
                }
            )
    boxes = tmp_path / "boxes.geojson"
    boxes.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return Case(
        source=str(source),
        options={"boxes": boxes, "datetime": "2022-01-01"},
        split="random:0.5,0.25,0.25",
        items=4,
        splits={"train": 2, "validate": 1, "test": 1},
    )
