"""One training sample from one Item: the image as an array, and its target."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from eotdl.errors import InputError
from eotdl.ml.labels import (
    LABELS_ASSET,
    LabelSpec,
    band_indexes,
    boxes_from_geojson,
    image_asset,
    map_mask,
)
from eotdl.ml.rasters import RasterSource

#: A target: a class index, a mask, {"boxes", "labels"}, a float, or None.
Target = Any


class SampleReader:
    """Reads (image, target) for an Item; picklable, so DataLoader workers can use it."""

    def __init__(
        self,
        spec: LabelSpec,
        *,
        bands: Sequence[int | str] | None = None,
        chip_size: int | None = None,
        image_key: str | None = None,
        source: RasterSource | None = None,
    ) -> None:
        self.spec = spec
        self.bands = list(bands) if bands is not None else None
        self.chip_size = chip_size
        self.image_key = image_key
        self.source = source or RasterSource()

    def image(self, item: Mapping[str, Any]) -> np.ndarray:
        """The image as (bands, rows, cols), in its own data type."""
        key = image_asset(item, self.image_key)
        asset = item["assets"][key]
        return self.source.read(asset["href"], band_indexes(asset, self.bands), self.chip_size)

    def target(self, item: Mapping[str, Any]) -> Target:
        """The target the dataset's task calls for (None when it has no labels)."""
        task = self.spec.task
        item_id = str(item.get("id"))
        properties = item.get("properties") or {}
        if task == "classification":
            return self.spec.class_index(properties.get(self.spec.class_property), item_id)
        if task == "regression":
            value = properties.get(self.spec.class_property)
            if not isinstance(value, int | float):
                raise InputError(f"item {item_id!r}: no number in {self.spec.class_property!r}")
            return float(value)
        if task in ("segmentation", "detection"):
            asset = (item.get("assets") or {}).get(LABELS_ASSET)
            if not asset:
                raise InputError(
                    f"item {item_id!r} has no {LABELS_ASSET!r} asset for its {task} labels",
                    hint="download it too: --assets image,labels",
                )
            if task == "segmentation":
                mask = self.source.read(asset["href"], [1], self.chip_size)[0]
                return map_mask(mask, self.spec.values)
            return boxes_from_geojson(self.source.read_bytes(asset["href"]), self.spec, item_id)
        return None

    def __call__(self, item: Mapping[str, Any]) -> tuple[np.ndarray, Target]:
        return self.image(item), self.target(item)
