"""One chip of fused scenes → one Item: the stacked COG, its class mask, the bands' eo fields,
the acquisition times, and ``derived_from`` links to the scenes that filled it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from eotdl.builders.base import LABEL_EXT, Labels
from eotdl.builders.chips import Frame, output_nodata, write_chip
from eotdl.builders.geoinputs import LabelShapes
from eotdl.builders.mosaic import Band, Layer
from eotdl.builders.rasterinfo import MEDIA_TYPES, raster_item
from eotdl.builders.scenes import iso

COG_TYPE = MEDIA_TYPES["COG"]


def chip_item(
    item_id: str,
    frame: Frame,
    layers: list[Layer],
    bands: list[Band],
    folder: Path,
    *,
    labels: Labels | None,
    shapes: LabelShapes | None,
    class_property: str,
) -> dict[str, Any]:
    """Write the chip ``folder/ITEM_ID.tif`` (and its mask, when ``shapes`` are given) and
    describe them as one Item (with ``labels``' fields when given)."""
    dtype = np.result_type(*(t for layer in layers for t in layer.dtypes))
    nodata = output_nodata(dtype)
    stack = np.concatenate([layer.data for layer in layers])
    valid = np.concatenate([layer.valid for layer in layers])
    image = np.where(valid, stack, nodata).astype(dtype)
    path = write_chip(
        folder / f"{item_id}.tif",
        image,
        frame,
        nodata=nodata,
        descriptions=[b.eo["name"] for b in bands],
        scales=[s for layer in layers for s in layer.scales],
        offsets=[o for layer in layers for o in layer.offsets],
    )
    scenes = [s for layer in layers for s in layer.scenes]
    lead = layers[0].scenes[0]
    item = raster_item(path, item_id, datetime=iso(lead.when))
    asset = item["assets"]["image"]
    asset["type"] = COG_TYPE
    asset["title"] = "chip: " + ", ".join(b.eo["name"] for b in bands)
    asset["eo:bands"] = [dict(b.eo) for b in bands]
    times = sorted({s.when for s in scenes})
    if len(times) > 1:
        item["properties"]["start_datetime"] = iso(times[0])
        item["properties"]["end_datetime"] = iso(times[-1])
    if lead.cloud is not None:
        item["properties"]["eo:cloud_cover"] = lead.cloud
    item["links"] = [
        {
            "rel": "derived_from",
            "href": s.url,
            "type": "application/geo+json",
            "title": f"{s.collection}/{s.id}",
        }
        for s in scenes
    ]
    if labels is not None:
        item["properties"].update(labels.item_properties())
        if LABEL_EXT not in item["stac_extensions"]:
            item["stac_extensions"].append(LABEL_EXT)
    if shapes is not None:
        mask = write_chip(
            folder / f"{item_id}-labels.tif",
            shapes.rasterize(frame),
            frame,
            nodata=None,
            descriptions=[class_property],
        )
        labelled = raster_item(
            mask,
            item_id,
            asset_key="labels",
            roles=("labels", "labels-raster"),
            datetime=iso(lead.when),
        )
        labels_asset = labelled["assets"]["labels"]
        labels_asset.pop("eo:bands", None)
        for band in labels_asset.get("raster:bands", []):
            # rio-stac counts one valid pixel in rasters without nodata; a mask has no holes
            band.get("statistics", {})["valid_percent"] = 100.0
        labels_asset["type"] = COG_TYPE
        labels_asset["title"] = "class mask"
        item["assets"]["labels"] = labels_asset
    return item
