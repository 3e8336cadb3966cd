"""Apply a label file to a dataset: the labelling page's export becomes a dataset change.

Classification verdicts update the items' class property; boxes become a new GeoJSON label
asset per chip and polygons a new mask (rasterised on the chip's grid), both stored
content-addressed like every asset. Each changed item records who labelled it and when; the
collection records the file's SHA-256 in its processing history. The file is checked against
the dataset first (ids, classes, shapes inside chips): a bad file changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eotdl.catalog import canonical
from eotdl.catalog.lab import Lab
from eotdl.catalog.labelfile import (
    ChipLabel,
    LabelFile,
    LabelTarget,
    Shape,
    check_label_file,
    label_target,
    read_label_file,
)
from eotdl.catalog.locks import scratch
from eotdl.catalog.save import save_dataset
from eotdl.catalog.vocabulary import PROCESSING_EXT
from eotdl.errors import InputError

WGS84 = "EPSG:4326"
#: Where the collection keeps the record of every label file applied to it.
HISTORY = "eotdl:label_files"


@dataclass
class AppliedLabels:
    """What applying a label file changed."""

    dataset: str
    task: str
    sha256: str
    changed: list[str] = field(default_factory=list)
    unchanged: int = 0
    skipped: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "task": self.task,
            "sha256": self.sha256,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
        }


def apply_labels(
    lab: Lab,
    dataset: str,
    path: str | Path,
    *,
    version: str | None = None,
    agreement: dict[str, Any] | None = None,
    progress: bool = False,
) -> AppliedLabels:
    """Check ``path`` against ``dataset`` and write its labels into the dataset."""
    folder = lab.dataset(dataset)
    if not folder.exists():
        raise InputError(f"no dataset {dataset!r} in {lab.root}")
    labels = read_label_file(path)
    target = label_target(folder)
    check_label_file(labels, target)
    latest = labels.latest()
    result = AppliedLabels(dataset, labels.task, labels.sha256)
    result.skipped = sum(1 for c in latest.values() if c.status != "labelled")
    with scratch(lab, "labels-") as workdir:

        def items() -> Iterator[dict[str, Any]]:
            for item in folder.iter_items():
                chip = latest.get(str(item["id"]))
                if chip is None or chip.status != "labelled":
                    yield item
                    continue
                changed = _relabel(item, chip, labels, target, workdir)
                if changed:
                    item["properties"]["eotdl:annotator"] = chip.annotator
                    item["properties"]["eotdl:labelled"] = chip.time
                    result.changed.append(str(item["id"]))
                else:
                    result.unchanged += 1
                yield item

        collection = folder.read_collection()

        def finished_collection() -> dict[str, Any]:
            record: dict[str, Any] = {
                "sha256": labels.sha256,
                "file": Path(path).name,
                "task": labels.task,
                "annotators": labels.annotators,
                "items_changed": len(result.changed),
                "applied": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
            if agreement is not None:
                record["agreement"] = {
                    k: agreement[k] for k in ("method", "overall", "annotators") if k in agreement
                }
            history = [r for r in collection.get(HISTORY) or [] if r.get("sha256") != labels.sha256]
            collection[HISTORY] = [*history, record]
            _lineage(collection, labels, len(result.changed))
            if version:
                collection["version"] = version
            return collection

        if not any(c.status == "labelled" for c in latest.values()):
            raise InputError(f"{labels.path}: no chip is labelled (all skipped or unsure)")
        save_dataset(
            lab,
            dataset,
            items(),
            finished_collection,
            keep_card=True,
            keep_recipe=True,
            progress=progress,
        )
    return result


def _lineage(collection: dict[str, Any], labels: LabelFile, changed: int) -> None:
    note = (
        f"Labels applied from {labels.path.name} (sha256 {labels.sha256[:16]}…, by"
        f" {', '.join(labels.annotators)}): {changed} items changed."
    )
    providers = collection.setdefault("providers", [])
    eotdl = next((p for p in providers if p.get("name") == "eotdl"), None)
    if eotdl is None:
        eotdl = {"name": "eotdl", "roles": ["processor"]}
        providers.append(eotdl)
    lineage = str(eotdl.get("processing:lineage") or "").strip()
    eotdl["processing:lineage"] = f"{lineage} {note}".strip()
    extensions = collection.setdefault("stac_extensions", [])
    if not any("/processing/" in e for e in extensions):
        extensions.append(PROCESSING_EXT)


def _relabel(
    item: dict[str, Any], chip: ChipLabel, labels: LabelFile, target: LabelTarget, workdir: Path
) -> bool:
    """Put one chip's labels into ``item``; True when that changed it."""
    properties = item["properties"]
    if target.task == "classification":
        key = target.class_property or "class"
        if properties.get(key) == chip.label:
            return False
        properties[key] = chip.label
        return True
    shapes = labels.shapes_of(str(item["id"]), chip.annotator)
    counts = Counter(s.label for s in shapes)
    overview: dict[str, Any] = {
        "counts": [{"name": name, "count": counts[name]} for name in sorted(counts)]
    }
    if target.class_property:
        overview["property_key"] = target.class_property
    if target.task == "detection":
        data = canonical.dumps(_boxes(item, shapes)) + b"\n"
        suffix, media, title = ".geojson", "application/geo+json", f"{len(shapes)} bounding boxes"
    else:
        data = _mask(item, shapes, target)
        suffix, media, title = ".tif", "image/tiff; application=geotiff", "segmentation mask"
    old = (item.get("assets") or {}).get("labels") or {}
    new_file = workdir / f"{len(list(workdir.iterdir()))}{suffix}"
    new_file.write_bytes(data)
    if _same_bytes(old, data):
        new_file.unlink()
        return False
    asset = {k: v for k, v in old.items() if k not in ("href", "file:checksum", "file:size")}
    asset.update(
        {"href": str(new_file), "type": media, "title": title, "roles": ["labels"]},
    )
    asset.setdefault("ml-aoi:role", "label")
    item.setdefault("assets", {})["labels"] = asset
    properties["label:overviews"] = [overview]
    return True


def _same_bytes(asset: dict[str, Any], data: bytes) -> bool:
    import hashlib

    from eotdl.storage.hashing import multihash_sha256

    digest = multihash_sha256(hashlib.sha256(data).hexdigest())
    return bool(asset) and asset.get("file:checksum") == digest


def _transform(item: dict[str, Any]) -> tuple[Any, str | None]:
    """The chip's pixel -> CRS transform and its CRS (None, None without georeferencing)."""
    from affine import Affine

    properties = item.get("properties") or {}
    values = properties.get("proj:transform")
    crs = properties.get("proj:code") or (
        f"EPSG:{properties['proj:epsg']}" if properties.get("proj:epsg") else None
    )
    if not isinstance(values, list) or len(values) < 6 or crs is None:
        return None, None
    return Affine(*values[:6]), str(crs)


def _boxes(item: dict[str, Any], shapes: list[Shape]) -> dict[str, Any]:
    from rasterio.warp import transform_geom
    from shapely.affinity import affine_transform
    from shapely.geometry import box, mapping

    forward, crs = _transform(item)
    features = []
    for shape in sorted(shapes, key=lambda s: (s.bbox(), s.label)):
        pixels = shape.bbox()
        geometry = None
        if forward is not None:
            outline = affine_transform(
                box(*pixels), [forward.a, forward.b, forward.d, forward.e, forward.c, forward.f]
            )
            geometry = transform_geom(crs, WGS84, mapping(outline), precision=9)
        features.append(
            {
                "type": "Feature",
                "geometry": geometry,
                "properties": {
                    "class": shape.label,
                    "pixel_bbox": [round(v, 4) for v in pixels],
                    "annotator": shape.annotator,
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


def _mask(item: dict[str, Any], shapes: list[Shape], target: LabelTarget) -> bytes:
    """The chip's polygons rasterised to a one-band uint8 GeoTIFF on the chip's grid."""
    import numpy as np
    import rasterio
    from rasterio.features import rasterize
    from rasterio.io import MemoryFile
    from shapely.geometry import Polygon

    size = target.sizes.get(str(item["id"]))
    if size is None:
        raise InputError(f"item {item['id']!r}: no proj:shape, so a mask cannot be drawn for it")
    width, height = size
    values = _class_values(item, target)
    ordered = sorted(shapes, key=lambda s: (values[s.label], s.points))
    burn = [(Polygon(s.points), values[s.label]) for s in ordered]
    array = (
        rasterize(burn, out_shape=(height, width), fill=0, dtype="uint8")
        if burn
        else np.zeros((height, width), dtype="uint8")
    )
    forward, crs = _transform(item)
    profile: dict[str, Any] = {
        "driver": "GTiff",
        "width": width,
        "height": height,
        "count": 1,
        "dtype": "uint8",
        "compress": "deflate",
    }
    if forward is not None:
        profile.update(transform=forward, crs=crs)
    with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True), MemoryFile() as memory:
        with memory.open(**profile) as dst:
            dst.write(array, 1)
            dst.update_tags(TIFFTAG_DATETIME="2000:01:01 00:00:00")
        return bytes(memory.read())


def _class_values(item: dict[str, Any], target: LabelTarget) -> dict[str, int]:
    """class name -> pixel value: the label asset's class map, else 1, 2, … in class order."""
    declared = ((item.get("assets") or {}).get("labels") or {}).get("classification:classes")
    if isinstance(declared, list) and declared:
        return {str(c.get("name")): int(c.get("value")) for c in declared if "value" in c}
    return {name: i + 1 for i, name in enumerate(target.classes)}
