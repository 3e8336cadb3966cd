"""``detection``: object detection from a folder of images and one boxes file.

``--boxes`` is either GeoJSON (one feature per box; a property names the image, another the
class; coordinates in lon/lat, in ``--boxes-crs``, in the file's legacy ``crs`` member, or in
each image's own CRS with ``--boxes-crs image``) or COCO JSON (``images``, ``annotations`` with
pixel ``bbox`` ``[x, y, w, h]``, ``categories``). Every image under SOURCE becomes an Item
(one with no box is a negative sample, unless ``--skip-unlabelled``); its ``labels`` asset is a
GeoJSON file of its boxes in EPSG:4326 (a null geometry when the image has no place on Earth),
each with ``class`` and ``pixel_bbox`` ``[xmin, ymin, xmax, ymax]``. Boxes naming missing
images, and boxes outside their image (by more than half a pixel), are errors. Reading the
boxes file: :mod:`eotdl.builders.boxes`; this module places the boxes on their images.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import Any

from rasterio.crs import CRS
from rasterio.errors import CRSError, RasterioError
from shapely.affinity import affine_transform
from shapely.geometry import box, mapping, shape

from eotdl.builders.base import LABEL_EXT, ML_AOI_EXT, Builder, Labels, Option
from eotdl.builders.boxes import Box, Boxes, read_boxes
from eotdl.builders.geojsonfile import project
from eotdl.builders.imagefiles import IMAGE_EXTENSIONS, list_images, parse_extensions
from eotdl.builders.item_ids import check_unique_ids, safe_id
from eotdl.builders.label_items import add_labels
from eotdl.builders.parallel import ordered_map
from eotdl.builders.rasterfiles import open_raster
from eotdl.builders.rasterinfo import image_item
from eotdl.catalog import canonical
from eotdl.catalog.vocabulary import ITEM_ASSETS_EXT
from eotdl.errors import InputError

#: How far (in pixels) a box may reach past the edge of its image.
TOLERANCE = 0.5
WGS84 = CRS.from_epsg(4326)


def _round(geometry: dict[str, Any], digits: int = 9) -> dict[str, Any]:
    def walk(value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            return [walk(v) for v in value]
        if isinstance(value, float):
            return round(value, digits)
        return value

    return {"type": geometry["type"], "coordinates": walk(geometry["coordinates"])}


class DetectionBuilder(Builder):
    """One Item per image; its boxes in a GeoJSON ``labels`` asset."""

    name = "detection"
    summary = "Object detection: a folder of images plus GeoJSON or COCO boxes"
    options = (
        Option("boxes", "The boxes: a GeoJSON or COCO JSON file (required).", type=Path),
        Option(
            "image_property",
            "GeoJSON property naming each box's image (a path relative to SOURCE).",
            default="image",
        ),
        Option("class_property", "GeoJSON property holding each box's class.", default="class"),
        Option(
            "boxes_crs",
            "CRS of the GeoJSON coordinates (default: the file's crs member, else EPSG:4326);"
            " 'image' means each image's own CRS.",
        ),
        Option(
            "skip_unlabelled",
            "Leave out images with no box (default: keep them as negative samples).",
            flag=True,
            default=False,
        ),
        Option(
            "extensions",
            "File extensions of the images, comma separated.",
            default=IMAGE_EXTENSIONS,
        ),
        Option(
            "datetime",
            "Acquisition time of images with none in their TIFF tags or file name.",
        ),
    )

    def __init__(self, source: str, dataset: str, workdir: Path, **options: Any) -> None:
        super().__init__(source, dataset, workdir, **options)
        if not self.settings["boxes"]:
            raise InputError(
                "the detection builder needs --boxes FILE (GeoJSON or COCO JSON)",
            )
        self.labels = Labels.classes_in_property(
            "detection", "object bounding boxes with their class"
        )

    @cached_property
    def _boxes(self) -> Boxes:
        root = Path(self.source)
        if not root.is_dir():
            raise InputError(f"{root}: not a folder", hint="SOURCE is the folder of images")
        parsed = read_boxes(
            Path(self.settings["boxes"]),
            root,
            self.settings["image_property"],
            self.settings["class_property"],
        )
        assert self.labels is not None
        self.labels.classes = parsed.classes
        return parsed

    @cached_property
    def _images(self) -> list[tuple[str, Path]]:
        """(item id, image) for every image to ingest, sorted by relative path."""
        root = Path(os.path.abspath(self.source))
        boxes = self._boxes
        extensions = parse_extensions(self.settings["extensions"])
        found = set(list_images(root, extensions, recursive=True)) | set(boxes.by_image)
        if self.settings["skip_unlabelled"]:
            found = {p for p in found if boxes.by_image.get(p)}
        relative = sorted(p.relative_to(root).as_posix() for p in found)
        if not relative:
            raise InputError(f"{root}: no images to ingest")
        chosen = [(safe_id(*Path(r).with_suffix("").parts), root / r) for r in relative]
        check_unique_ids((i, str(p)) for i, p in chosen)
        return chosen

    @cached_property
    def _boxes_crs(self) -> CRS | str:
        """The CRS of GeoJSON coordinates, or "image" for each image's own."""
        given = self.settings["boxes_crs"] or self._boxes.crs
        if not given:
            return WGS84
        if str(given).lower() == "image":
            return "image"
        try:
            return CRS.from_user_input(given)
        except CRSError as exc:
            raise InputError(f"boxes CRS {given!r} is not a CRS ({exc})") from None

    def _place(self, src: Any, image: Path, boxes: list[Box]) -> list[dict[str, Any]]:
        """GeoJSON features (EPSG:4326) with pixel boxes, checked to lie in the image."""
        georeferenced = src.crs is not None
        forward = src.transform
        inverse = ~forward
        features = []
        for item_box in boxes:
            if item_box.pixels is not None:
                if item_box.size and item_box.size != (src.width, src.height):
                    raise InputError(
                        f"{item_box.where}: the boxes file says {image.name} is"
                        f" {item_box.size[0]}x{item_box.size[1]} pixels, it is"
                        f" {src.width}x{src.height}",
                        hint="the COCO file does not describe this image",
                    )
                pixels = item_box.pixels
                geometry = None
                if georeferenced:
                    outline = affine_transform(
                        box(*pixels),
                        [forward.a, forward.b, forward.d, forward.e, forward.c, forward.f],
                    )
                    geometry = project(mapping(outline), src.crs, WGS84, item_box.where)
            else:
                if not georeferenced:
                    raise InputError(
                        f"{item_box.where}: image {image} has no CRS, so GeoJSON boxes cannot"
                        " be placed on it",
                        hint="give boxes in pixels (COCO JSON) for images with no place on Earth",
                    )
                assert item_box.geometry is not None
                crs = self._boxes_crs
                from_crs = src.crs if isinstance(crs, str) else crs
                native = shape(project(item_box.geometry, from_crs, src.crs, item_box.where))
                in_pixels = affine_transform(
                    native, [inverse.a, inverse.b, inverse.d, inverse.e, inverse.c, inverse.f]
                )
                pixels = in_pixels.bounds
                geometry = (
                    item_box.geometry
                    if from_crs == WGS84
                    else project(item_box.geometry, from_crs, WGS84, item_box.where)
                )
            xmin, ymin, xmax, ymax = pixels
            if (
                xmin < -TOLERANCE
                or ymin < -TOLERANCE
                or xmax > src.width + TOLERANCE
                or ymax > src.height + TOLERANCE
            ):
                shown = [round(v, 2) for v in pixels]
                raise InputError(
                    f"{item_box.where}: box {shown} (pixels xmin, ymin, xmax, ymax) lies outside"
                    f" image {image} ({src.width}x{src.height} pixels)",
                    hint="check which image the box names, and the CRS of its coordinates"
                    " (--boxes-crs)",
                )
            features.append(
                {
                    "type": "Feature",
                    "geometry": _round(dict(geometry)) if geometry else None,
                    "properties": {
                        **item_box.properties,
                        "class": item_box.label,
                        "pixel_bbox": [round(float(v), 4) for v in pixels],
                    },
                }
            )
        return features

    def _item(self, entry: tuple[str, Path]) -> dict[str, Any]:
        item_id, image = entry
        assert self.labels is not None
        boxes = self._boxes.by_image.get(image, [])
        try:
            with open_raster(image, "image") as src:
                features = self._place(src, image, boxes)
        except RasterioError as exc:
            raise InputError(f"{image}: not a readable image ({exc})") from None
        item = image_item(image, item_id, datetime=self.settings["datetime"])
        labels_dir = self.workdir / "labels"
        labels_dir.mkdir(parents=True, exist_ok=True)
        labels_file = labels_dir / f"{item_id}.geojson"
        labels_file.write_bytes(
            canonical.dumps({"type": "FeatureCollection", "features": features}) + b"\n"
        )
        counts = Counter(f["properties"]["class"] for f in features)
        overview = {
            "property_key": "class",
            "counts": [{"name": name, "count": counts[name]} for name in sorted(counts)],
        }
        return add_labels(
            item,
            self.labels,
            label_asset={
                "href": str(labels_file.resolve()),
                "type": "application/geo+json",
                "title": f"{len(features)} bounding boxes",
            },
            properties={"label:overviews": [overview]},
        )

    def items(self) -> Iterator[dict[str, Any]]:
        """One Item per image, in relative-path order."""
        _ = self._boxes_crs  # a bad --boxes-crs fails before any image is read
        yield from ordered_map(self._item, self._images)

    def collection(self) -> dict[str, Any]:
        """Classes in ``summaries``; image and boxes assets in ``item_assets``."""
        images = self._images
        assert self.labels is not None
        total = sum(len(self._boxes.by_image.get(p, [])) for _, p in images)
        base = super().collection()
        base["description"] += (
            f" {len(images)} images, {total} boxes in {len(self.labels.classes)} classes:"
            f" {', '.join(self.labels.classes)}."
        )
        base["stac_extensions"] = [ITEM_ASSETS_EXT, LABEL_EXT, ML_AOI_EXT]
        base["summaries"] = self.labels.summaries()
        base["item_assets"] = {
            "image": {"title": "image", "roles": ["data"], "ml-aoi:role": "feature"},
            "labels": {
                "title": "bounding boxes (GeoJSON, EPSG:4326, with pixel_bbox)",
                "type": "application/geo+json",
                "roles": ["labels"],
                "ml-aoi:role": "label",
            },
        }
        return base
