"""``stac-api``: chips from a STAC API served on loopback, with labels, split in two."""

from __future__ import annotations

import json
from pathlib import Path

from stacapi_server import make_scenes, start_stac_api, utm_polygon

from . import Case

KIND = "stac-api"


def make_case(tmp_path: Path) -> Case:
    root = tmp_path / "www"
    root.mkdir(parents=True)
    api = start_stac_api(root)
    make_scenes(api, size=256)
    aoi = tmp_path / "aoi.geojson"
    aoi.write_text(json.dumps(utm_polygon(370801, 4829041, 371439, 4829679)))
    labels = tmp_path / "labels.geojson"
    labels.write_text(
        json.dumps(
            {
                "type": "Feature",
                "geometry": utm_polygon(370900, 4829100, 371200, 4829300),
                "properties": {"class": "field"},
            }
        )
    )
    return Case(
        source=api.url,
        options={
            "aoi": str(aoi),
            "datetime": "2023-05-01/2023-05-31",
            "chip_size": 32,
            "max_cloud": 30.0,
            "pick": "all",
            "labels": str(labels),
            "collection": ["sentinel-2-l2a", "sentinel-1-grd"],
            "assets": ["red,nir", "sentinel-1-grd:vv"],
        },
        split="random:0.5,0.5",
        items=8,
        splits={"train": 4, "validate": 4},
        serve=api,
    )
