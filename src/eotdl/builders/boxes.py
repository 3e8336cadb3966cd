"""The ``detection`` builder's boxes files, read and checked: GeoJSON or COCO JSON.

GeoJSON: one Polygon feature per box, a property naming its image (a path relative to the
source folder), another its class; the file's legacy ``crs`` member is kept. COCO JSON:
``categories``, ``images`` and ``annotations`` with pixel ``bbox`` ``[x, y, w, h]``. Every
image named must be in the source folder (never outside it), and every error names the file
and the feature or entry.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eotdl.builders.geojsonfile import features_of
from eotdl.builders.imagefiles import inside
from eotdl.errors import InputError

_SHOWN = 10


@dataclass
class Box:
    """One box from the boxes file, before it is placed on its image."""

    label: str
    where: str
    geometry: dict[str, Any] | None = None  # GeoJSON input, in the boxes' CRS
    pixels: tuple[float, float, float, float] | None = None  # COCO input: xmin ymin xmax ymax
    properties: dict[str, Any] = field(default_factory=dict)
    size: tuple[int, int] | None = None  # COCO's width, height of the image


@dataclass
class Boxes:
    """A parsed boxes file: boxes by image path, all class names, the boxes' CRS."""

    by_image: dict[Path, list[Box]]
    classes: list[str]
    crs: str | None


def _read_json(path: Path) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"--boxes {path}: no such file") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"--boxes {path}: not a JSON file ({exc})") from None


def _missing(root: Path, missing: dict[str, str]) -> InputError:
    names = sorted(missing)
    shown = ", ".join(f"{n} ({missing[n]})" for n in names[:_SHOWN])
    more = f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else ""
    return InputError(
        f"{len(names)} image(s) named by the boxes are not in {root}: {shown}{more}",
        hint="image names are paths relative to SOURCE; add the images or drop their boxes",
    )


def parse_geojson(
    data: dict[str, Any], path: Path, root: Path, image_property: str, class_property: str
) -> Boxes:
    """Boxes from a GeoJSON FeatureCollection naming their images in a property."""
    by_image: dict[Path, list[Box]] = defaultdict(list)
    missing: dict[str, str] = {}
    classes: set[str] = set()
    if not isinstance(data.get("features"), list):
        raise InputError(f"--boxes {path}: a FeatureCollection needs a 'features' list")
    for index, feature in enumerate(features_of(data, path)):  # objects, geometries checked
        where = f"{path}: feature {index}"
        props = feature.get("properties") or {}
        name = props.get(image_property)
        if not isinstance(name, str) or not name:
            raise InputError(
                f"{where}: no image name in property {image_property!r}",
                hint="pass --image-property NAME for the property naming each box's image",
            )
        label = props.get(class_property)
        if label is None or label == "":
            raise InputError(
                f"{where}: no class in property {class_property!r}",
                hint="pass --class-property NAME for the property holding the class",
            )
        geometry = feature.get("geometry")
        if not isinstance(geometry, dict) or geometry.get("type") not in (
            "Polygon",
            "MultiPolygon",
        ):
            kind = geometry.get("type") if isinstance(geometry, dict) else geometry
            raise InputError(f"{where}: geometry is {kind!r}, expected a Polygon box")
        image = inside(root, name, where)
        if not image.is_file():
            missing.setdefault(name, where)
            continue
        rest = {
            k: v
            for k, v in props.items()
            if k not in (image_property, class_property) and k not in ("class", "pixel_bbox")
        }
        classes.add(str(label))
        by_image[image].append(Box(str(label), where, geometry=geometry, properties=rest))
    if missing:
        raise _missing(root, missing)
    crs = None
    legacy = data.get("crs")
    if isinstance(legacy, dict):
        crs = (legacy.get("properties") or {}).get("name")
    return Boxes(dict(by_image), sorted(classes), crs)


def parse_coco(data: dict[str, Any], path: Path, root: Path) -> Boxes:
    """Boxes from COCO JSON (pixel ``bbox`` ``[x, y, width, height]``)."""
    categories: dict[Any, str] = {}
    for key in ("categories", "images", "annotations"):
        if not isinstance(data.get(key) or [], list):
            raise InputError(f"--boxes {path}: COCO {key!r} must be a list")
    for category in data.get("categories") or []:
        if (
            not isinstance(category, dict)
            or not _is_id(category.get("id"))
            or not category.get("name")
        ):
            raise InputError(f"--boxes {path}: a category needs an 'id' and a 'name'")
        if category["id"] in categories:
            raise InputError(f"--boxes {path}: category id {category['id']} appears twice")
        categories[category["id"]] = str(category["name"])
    names = list(categories.values())
    if len(set(names)) != len(names):
        repeated = sorted({n for n in names if names.count(n) > 1})
        raise InputError(f"--boxes {path}: category name(s) {', '.join(repeated)} appear twice")
    images: dict[Any, tuple[Path, tuple[int, int] | None]] = {}
    missing: dict[str, str] = {}
    for index, entry in enumerate(data.get("images") or []):
        where = f"{path}: images[{index}]"
        if not isinstance(entry, dict) or not _is_id(entry.get("id")) or "file_name" not in entry:
            raise InputError(f"{where}: an image needs an 'id' and a 'file_name'")
        image = inside(root, str(entry["file_name"]), where)
        if not image.is_file():
            missing.setdefault(str(entry["file_name"]), where)
        size = None
        if isinstance(entry.get("width"), int) and isinstance(entry.get("height"), int):
            size = (entry["width"], entry["height"])
        images[entry["id"]] = (image, size)
    if missing:
        raise _missing(root, missing)
    by_image: dict[Path, list[Box]] = defaultdict(list)
    unknown_images: list[str] = []
    for index, ann in enumerate(data.get("annotations") or []):
        where = f"{path}: annotations[{index}]"
        if not isinstance(ann, dict):
            raise InputError(f"{where}: not an object")
        if not _is_id(ann.get("image_id")) or ann.get("image_id") not in images:
            unknown_images.append(f"{ann.get('image_id')!r} ({where})")
            continue
        if not _is_id(ann.get("category_id")) or ann.get("category_id") not in categories:
            raise InputError(
                f"{where}: category_id {ann.get('category_id')!r} is not in 'categories'"
            )
        bbox = ann.get("bbox")
        if (
            not isinstance(bbox, list)
            or len(bbox) != 4
            or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                for v in bbox
            )
            or bbox[2] <= 0
            or bbox[3] <= 0
        ):
            raise InputError(
                f"{where}: bbox {bbox!r} is not [x, y, width, height] with a positive size"
            )
        x, y, w, h = (float(v) for v in bbox)
        image, size = images[ann["image_id"]]
        extra = {"annotation_id": ann["id"]} if "id" in ann else {}
        if "iscrowd" in ann:
            extra["iscrowd"] = ann["iscrowd"]
        by_image[image].append(
            Box(
                categories[ann["category_id"]],
                where,
                pixels=(x, y, x + w, y + h),
                properties=extra,
                size=size,
            )
        )
    if unknown_images:
        raise InputError(
            f"--boxes {path}: {len(unknown_images)} annotation(s) name image ids missing from"
            f" 'images': {', '.join(unknown_images[:_SHOWN])}",
            hint="every annotation's image_id must be the id of an entry in 'images'",
        )
    for image, _ in images.values():
        by_image.setdefault(image, [])
    return Boxes(dict(by_image), sorted(categories.values()), None)


def _is_id(value: Any) -> bool:
    """A COCO id: a number or a string (a list or an object cannot key anything)."""
    return isinstance(value, (int, float, str)) and not isinstance(value, bool)


def read_boxes(path: Path, root: Path, image_property: str, class_property: str) -> Boxes:
    """The boxes of ``path`` (GeoJSON or COCO JSON) for the images under ``root``."""
    data = _read_json(path)
    if isinstance(data, dict) and data.get("type") == "FeatureCollection":
        return parse_geojson(data, path, root, image_property, class_property)
    if isinstance(data, dict) and "images" in data and "annotations" in data:
        return parse_coco(data, path, root)
    raise InputError(
        f"--boxes {path}: neither a GeoJSON FeatureCollection nor COCO JSON",
        hint="COCO JSON has 'images', 'annotations' and 'categories'",
    )
