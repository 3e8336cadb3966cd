"""What a sample's target is, read from the label extension (``label:type``, ``label:tasks``).

* classification: the class index of ``properties[<class property>]`` in ``label:classes``;
* segmentation (``label:type`` raster): the ``labels`` mask, values mapped to class indices
  through the asset's ``classification:classes`` (unknown values become ``IGNORE``);
* detection: boxes ``[xmin, ymin, xmax, ymax]`` in pixels and class indices, from the
  ``labels`` GeoJSON (``pixel_bbox`` and ``class`` of each feature);
* regression: ``properties[<label:properties[0]>]`` as a float.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from eotdl.errors import InputError

TASKS = ("classification", "segmentation", "detection", "regression")
#: Mask values that are no known class (PyTorch's default ``ignore_index``).
IGNORE = -100
LABELS_ASSET = "labels"
IMAGE_ASSET = "image"


@dataclass
class LabelSpec:
    """How to turn an Item into a target."""

    task: str | None
    classes: list[Any] = field(default_factory=list)
    class_property: str = "class"
    #: Segmentation: mask value → class index.
    values: dict[int, int] = field(default_factory=dict)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def class_index(self, value: Any, item_id: str) -> int:
        try:
            return self.classes.index(value)
        except ValueError:
            raise InputError(
                f"item {item_id!r}: class {value!r} is not in label:classes {self.classes}",
                hint="declare every class in label:classes",
            ) from None


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value


def _field(collection: Mapping[str, Any], items: Sequence[Mapping[str, Any]], name: str) -> Any:
    """A label field from the first item that has it, else from the collection's summaries."""
    for item in items[:50]:
        value = (item.get("properties") or {}).get(name)
        if value is not None:
            return value
    summaries = collection.get("summaries") or {}
    value = summaries.get(name)
    if name == "label:classes" or name == "label:tasks":
        return value
    return _first(value)


def label_spec(
    collection: Mapping[str, Any], items: Sequence[Mapping[str, Any]], task: str | None = None
) -> LabelSpec:
    """Work out the task and classes of a dataset from its label fields."""
    tasks = [str(t).lower() for t in (_field(collection, items, "label:tasks") or [])]
    kind = str(_field(collection, items, "label:type") or "").lower()
    if task is not None and task not in TASKS:
        raise InputError(f"unknown task {task!r}", hint=f"use one of {', '.join(TASKS)}")
    if task is None:
        if "segmentation" in tasks or (kind == "raster" and "detection" not in tasks):
            task = "segmentation"
        elif "detection" in tasks or "object-detection" in tasks:
            task = "detection"
        elif "classification" in tasks:
            task = "classification"
        elif "regression" in tasks:
            task = "regression"
    spec = LabelSpec(task)
    declared = _field(collection, items, "label:classes") or []
    properties = _field(collection, items, "label:properties")
    if isinstance(properties, list) and properties:
        spec.class_property = str(properties[0])
    entry = next((c for c in declared if isinstance(c, dict)), None)
    if entry is not None:
        if entry.get("name"):
            spec.class_property = str(entry["name"])
        spec.classes = list(entry.get("classes") or [])
    if task == "classification" and not spec.classes:
        spec.classes = sorted(
            {(i.get("properties") or {}).get(spec.class_property) for i in items} - {None}
        )
    if task == "segmentation":
        spec.values = _mask_values(items, spec.classes)
    return spec


def _mask_values(items: Sequence[Mapping[str, Any]], classes: list[Any]) -> dict[int, int]:
    """Mask value → class index, from ``classification:classes`` of the labels asset."""
    for item in items[:50]:
        asset = (item.get("assets") or {}).get(LABELS_ASSET) or {}
        entries = asset.get("classification:classes")
        if isinstance(entries, list) and entries:
            values = [e.get("value") for e in entries if isinstance(e, dict)]
            return {int(v): i for i, v in enumerate(values) if isinstance(v, int | float)}
    if classes and all(isinstance(c, int) for c in classes):
        return {int(c): i for i, c in enumerate(classes)}
    return {}


def map_mask(mask: np.ndarray, values: Mapping[int, int]) -> np.ndarray:
    """A mask of raw values as class indices (int64); unmapped values become IGNORE."""
    mask = np.asarray(mask)
    if not values:
        return mask.astype(np.int64)
    if mask.dtype.kind in "ui" and mask.size and int(mask.min()) >= 0 and int(mask.max()) < 65536:
        table = np.full(int(max(int(mask.max()), max(values)) + 1), IGNORE, dtype=np.int64)
        for value, index in values.items():
            if 0 <= value < len(table):
                table[value] = index
        return table[mask]
    out = np.full(mask.shape, IGNORE, dtype=np.int64)
    for value, index in values.items():
        out[mask == value] = index
    return out


def boxes_from_geojson(data: bytes, spec: LabelSpec, item_id: str) -> tuple[np.ndarray, np.ndarray]:
    """(boxes float32 N×4 in pixels, class indices int64 N) from a labels GeoJSON."""
    try:
        document = json.loads(data)
    except ValueError as exc:
        raise InputError(f"item {item_id!r}: the labels asset is not JSON: {exc}") from None
    features: Iterable[Any] = document.get("features") or [] if isinstance(document, dict) else []
    boxes: list[list[float]] = []
    labels: list[int] = []
    for feature in features:
        properties = (feature or {}).get("properties") or {}
        pixels = properties.get("pixel_bbox")
        if not (isinstance(pixels, list) and len(pixels) == 4):
            raise InputError(
                f"item {item_id!r}: a box has no pixel_bbox [xmin, ymin, xmax, ymax]",
                hint="make detection datasets with `eotdl ingest detection`",
            )
        boxes.append([float(v) for v in pixels])
        labels.append(spec.class_index(properties.get(spec.class_property), item_id))
    return (
        np.asarray(boxes, dtype=np.float32).reshape(-1, 4),
        np.asarray(labels, dtype=np.int64),
    )


def image_asset(item: Mapping[str, Any], key: str | None = None) -> str:
    """The key of the image asset: ``key``, else ``image``, else the first data raster."""
    assets = item.get("assets") or {}
    if key is not None:
        if key not in assets:
            raise InputError(
                f"item {item.get('id')!r} has no asset {key!r}",
                hint=f"its assets: {', '.join(assets) or 'none'}",
            )
        return key
    if IMAGE_ASSET in assets:
        return IMAGE_ASSET
    for name, asset in assets.items():
        roles = asset.get("roles") or []
        kind = str(asset.get("type") or "")
        if name != LABELS_ASSET and "data" in roles and ("tiff" in kind or not kind):
            return str(name)
    raise InputError(
        f"item {item.get('id')!r} has no image asset",
        hint="name it 'image', or pass image_asset= to the loader",
    )


def band_indexes(asset: Mapping[str, Any], bands: Sequence[int | str] | None) -> list[int] | None:
    """1-based band numbers from numbers or names (``eo:bands`` name or common_name)."""
    if bands is None:
        return None
    described = asset.get("eo:bands") or asset.get("bands") or []
    out = []
    for band in bands:
        if isinstance(band, int) and not isinstance(band, bool):
            out.append(band)
            continue
        for index, entry in enumerate(described, start=1):
            if isinstance(entry, dict) and band in (entry.get("name"), entry.get("common_name")):
                out.append(index)
                break
        else:
            names = [e.get("name") for e in described if isinstance(e, dict)]
            raise InputError(
                f"no band {band!r} in the image asset", hint=f"bands: {names or 'unnamed'}"
            )
    return out
