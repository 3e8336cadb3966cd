"""Pieces shared by the builders of labelled samples (chips, image/mask pairs, boxes, points).

Safe item ids, listing image files, describing one image (georeferenced through rio-stac, or
a null-geometry Item for a PNG or JPEG with no place on Earth), the label-extension and ml-aoi
decoration of an Item, path-traversal checks for names read from label files, and an ordered,
bounded parallel map for reading rasters (rasterio releases the GIL).
"""

from __future__ import annotations

import os
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from rasterio.errors import RasterioError

from eotdl.builders.base import LABEL_EXT, ML_AOI_EXT, PROJ_EXT, STAC_VERSION, Labels
from eotdl.builders.rasterinfo import acquisition_time, json_safe, open_raster, raster_item
from eotdl.errors import InputError

#: Image file extensions taken by default (lower case, without the dot).
IMAGE_EXTENSIONS = "tif,tiff,png,jpg,jpeg"
MEDIA_TYPES = {
    "GTiff": "image/tiff; application=geotiff",
    "COG": "image/tiff; application=geotiff; profile=cloud-optimized",
    "PNG": "image/png",
    "JPEG": "image/jpeg",
}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")

T = TypeVar("T")
R = TypeVar("R")


def safe_id(*parts: str) -> str:
    """An item id from name parts: joined by '-', no '/' or odd characters, no leading '.'."""
    text = "-".join(_UNSAFE.sub("_", p) for p in parts if p)
    text = text.lstrip(".-")
    if not text:
        raise InputError(f"cannot make an item id from {parts!r}", hint="rename the file")
    return text


def parse_extensions(text: str) -> tuple[str, ...]:
    """``"tif, .PNG"`` -> ``(".tif", ".png")``."""
    found = tuple(
        "." + part.strip().lower().lstrip(".") for part in str(text).split(",") if part.strip()
    )
    if not found:
        raise InputError(f"--extensions {text!r}: give at least one, e.g. tif,png,jpg")
    return found


def list_images(folder: Path, extensions: tuple[str, ...], recursive: bool = False) -> list[Path]:
    """Image files under ``folder`` (sorted; hidden files and folders skipped)."""
    pattern = "**/*" if recursive else "*"
    found = []
    for path in folder.glob(pattern):
        relative = path.relative_to(folder).parts
        if any(part.startswith(".") for part in relative):
            continue
        if path.suffix.lower() in extensions and path.is_file():
            found.append(path)
    return sorted(found, key=lambda p: p.relative_to(folder).as_posix())


def inside(root: Path, name: str, where: str) -> Path:
    """``root / name`` (absolute, normalised), refusing names that climb out of ``root``.

    The check is lexical, so images that are symbolic links to other disks are accepted.
    """
    if not name or os.path.isabs(name) or name.startswith(("/", "\\")) or "\0" in name:
        raise InputError(f"{where}: image name {name!r} is not a relative path in the source")
    root = Path(os.path.abspath(root))
    path = Path(os.path.normpath(root / name))
    if root not in path.parents:
        raise InputError(
            f"{where}: image name {name!r} points outside the source folder {root}",
            hint="image names must be paths relative to the source folder, without '..'",
        )
    return path


def is_georeferenced(src: Any) -> bool:
    """Whether an open dataset has a CRS or ground control points."""
    return src.crs is not None or bool(src.gcps[0])


def image_item(
    path: Path,
    item_id: str,
    *,
    datetime: str | None = None,
    crs: str | None = None,
) -> dict[str, Any]:
    """An Item for one image: via rio-stac when it has a place on Earth, else null geometry.

    The image asset is ``image`` (roles ``data``, ``ml-aoi:role: feature``); the Item claims
    STAC 1.0.0 like the rest of a dataset.
    """
    file = Path(path).resolve()
    try:
        with open_raster(file, "image") as src:  # a cut TIFF or PNG is refused here
            item: dict[str, Any] | None = None
            if not (is_georeferenced(src) or crs):
                if src.width < 1 or src.height < 1 or src.count < 1:
                    raise InputError(f"{file}: the image has no pixels or no bands")
                src.read()  # a truncated file fails here, not later in training
                item = {
                    "type": "Feature",
                    "stac_version": STAC_VERSION,
                    "stac_extensions": [PROJ_EXT],
                    "id": item_id,
                    "geometry": None,
                    "properties": {
                        "datetime": acquisition_time(src, file, datetime),
                        "proj:epsg": None,
                        "proj:shape": [src.height, src.width],
                    },
                    "links": [],
                    "assets": {
                        "image": {
                            "href": str(file),
                            "type": MEDIA_TYPES.get(src.driver, "application/octet-stream"),
                            "roles": ["data"],
                        }
                    },
                }
    except RasterioError as exc:
        raise InputError(f"{file}: not a readable image ({exc})") from None
    if item is None:
        item = raster_item(file, item_id, datetime=datetime, crs=crs)
    item["stac_version"] = STAC_VERSION
    item["assets"]["image"]["ml-aoi:role"] = "feature"
    return item


def add_labels(
    item: dict[str, Any],
    labels: Labels | dict[str, Any],
    *,
    label_asset: dict[str, Any] | None = None,
    properties: dict[str, Any] | None = None,
    extensions: Iterable[str] = (),
) -> dict[str, Any]:
    """Make ``item`` a label Item: ``label:*`` fields, a ``labels`` asset, a source link."""
    fields = labels.item_properties() if isinstance(labels, Labels) else labels
    item["properties"].update(fields)
    item["properties"].update(properties or {})
    declared = item.setdefault("stac_extensions", [])
    for ext in (LABEL_EXT, ML_AOI_EXT, *extensions):
        if ext not in declared:
            declared.append(ext)
    if label_asset is not None:
        item["assets"]["labels"] = {"roles": ["labels"], "ml-aoi:role": "label", **label_asset}
    image = item["assets"].get("image")
    if image is not None:
        link = {"rel": "source", "href": image["href"], "title": "the labelled image"}
        if image.get("type"):
            link["type"] = image["type"]
        item.setdefault("links", []).append(link)
    return json_safe(item)


def check_unique_ids(ids: Iterable[tuple[str, str]]) -> None:
    """Refuse two samples with one id; ``ids`` holds (item id, what it was made from)."""
    seen: dict[str, str] = {}
    for item_id, origin in ids:
        if item_id in seen:
            raise InputError(
                f"{seen[item_id]} and {origin} give the same item id {item_id!r}",
                hint="rename one of them (ids come from file names, with odd characters"
                " replaced by '_')",
            )
        seen[item_id] = origin


def ordered_map(
    fn: Callable[[T], R], args: Iterable[T], *, workers: int | None = None, window: int = 64
) -> Iterator[R]:
    """``map(fn, args)`` on a thread pool, in order, with at most ``window`` tasks pending."""
    workers = workers or min(8, os.cpu_count() or 1)
    pool = ThreadPoolExecutor(max_workers=workers)
    pending: deque[Future[R]] = deque()
    try:
        for arg in args:
            pending.append(pool.submit(fn, arg))
            if len(pending) >= window:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
