"""``segmentation-pairs``: semantic segmentation from ``images/`` and ``masks/`` matched by name.

Each image is paired with the mask of the same file stem (plus ``--mask-suffix``). Every pair is
checked before any Item is made: both exist, the mask has one integer band, the same size as
the image, and (when both are georeferenced) the same CRS and transform; every mask value is in
the class map. The class map comes from ``--classes FILE`` (YAML or JSON, ``value: name``) or,
without it, from the values found in the masks (a warning says so and the label description
records it). The mask's own nodata value needs no class.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from rasterio.errors import RasterioError

from eotdl.builders.base import LABEL_EXT, ML_AOI_EXT, Builder, Labels, Option
from eotdl.builders.imagefiles import IMAGE_EXTENSIONS, list_images, parse_extensions
from eotdl.builders.item_ids import safe_id
from eotdl.builders.label_items import add_labels
from eotdl.builders.parallel import ordered_map
from eotdl.builders.rasterfiles import open_raster
from eotdl.builders.rasterinfo import MEDIA_TYPES, image_item, is_georeferenced
from eotdl.catalog.vocabulary import CLASSIFICATION_EXT, ITEM_ASSETS_EXT
from eotdl.errors import InputError

log = logging.getLogger(__name__)
_SHOWN = 10


@dataclass(frozen=True)
class Pair:
    """An image, its mask, and the pixel count of each mask value (nodata left out)."""

    stem: str
    image: Path
    mask: Path
    mask_type: str
    counts: dict[int, int]


def load_class_map(path: Path) -> dict[int, str]:
    """``value -> name`` from a YAML or JSON mapping, or a list of ``{value, name}`` objects."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"--classes {path}: no such file") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InputError(f"--classes {path}: not a YAML or JSON file ({exc})") from None
    if isinstance(data, list):
        try:
            data = {entry["value"]: entry.get("name") or entry["description"] for entry in data}
        except (TypeError, KeyError):
            data = None
    if not isinstance(data, dict) or not data:
        raise InputError(
            f"--classes {path}: expected a mapping of mask value to class name",
            hint="e.g. a YAML file with lines like `0: background` and `1: water`",
        )
    classes: dict[int, str] = {}
    for value, name in data.items():
        try:
            number = int(str(value).strip())
        except ValueError:
            raise InputError(
                f"--classes {path}: key {value!r} is not an integer mask value",
                hint="keys are mask values and values are class names (`1: water`)",
            ) from None
        if not isinstance(name, (str, int, float)) or not str(name).strip():
            raise InputError(f"--classes {path}: value {number} has no class name")
        classes[number] = str(name).strip()
    names = list(classes.values())
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise InputError(
            f"--classes {path}: class name(s) {', '.join(repeated)} given to several values",
            hint="give each mask value its own class name",
        )
    return dict(sorted(classes.items()))


def mask_counts(src: Any) -> dict[int, int]:
    """Pixel count of each value of band 1, read block by block (nodata left out)."""
    totals: dict[int, int] = {}
    small_unsigned = src.dtypes[0] in ("uint8", "uint16")
    for _, window in src.block_windows(1):
        data = src.read(1, window=window)
        if small_unsigned:
            counts = np.bincount(data.ravel())
            values = np.flatnonzero(counts)
            found = zip(values.tolist(), counts[values].tolist(), strict=True)
        else:
            uniques, counts = np.unique(data, return_counts=True)
            found = zip(uniques.tolist(), counts.tolist(), strict=True)
        for value, count in found:
            totals[int(value)] = totals.get(int(value), 0) + int(count)
    if src.nodata is not None and float(src.nodata).is_integer():
        totals.pop(int(src.nodata), None)
    return dict(sorted(totals.items()))


def _check_pair(stem: str, image: Path, mask: Path) -> Pair:
    """Open both files, check they line up, and count the mask's values."""
    try:
        with open_raster(image, "image") as img, open_raster(mask, "mask") as msk:
            if msk.count != 1:
                raise InputError(
                    f"{mask}: a mask must have one band, this one has {msk.count}",
                    hint="write class values into a single-band raster",
                )
            if not np.issubdtype(np.dtype(msk.dtypes[0]), np.integer):
                raise InputError(
                    f"{mask}: mask values are {msk.dtypes[0]}, expected integers (class values)"
                )
            if (msk.height, msk.width) != (img.height, img.width):
                raise InputError(
                    f"{mask}: {msk.height}x{msk.width} pixels, but its image {image} is"
                    f" {img.height}x{img.width}",
                    hint="masks must cover their image pixel for pixel",
                )
            if is_georeferenced(img) and is_georeferenced(msk):
                if img.crs != msk.crs:
                    raise InputError(
                        f"{mask}: CRS {msk.crs} differs from its image's ({img.crs}, {image})"
                    )
                if not msk.transform.almost_equals(img.transform, precision=1e-9):
                    raise InputError(
                        f"{mask}: its transform differs from its image's ({image}):"
                        f" {tuple(msk.transform)[:6]} vs {tuple(img.transform)[:6]}",
                        hint="masks must be on the grid of their image",
                    )
            counts = mask_counts(msk)
            mask_type = MEDIA_TYPES.get(msk.driver, "application/octet-stream")
    except RasterioError as exc:
        raise InputError(f"{image} / {mask}: not a readable raster pair ({exc})") from None
    return Pair(stem, image.resolve(), mask.resolve(), mask_type, counts)


def _by_stem(paths: list[Path], suffix: str, what: str) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in paths:
        stem = path.stem
        if suffix:
            if not stem.endswith(suffix):
                continue
            stem = stem[: -len(suffix)]
        if stem in found:
            raise InputError(
                f"two {what} with the stem {stem!r}: {found[stem]} and {path}",
                hint="keep one file per name (e.g. not both .tif and .png)",
            )
        found[stem] = path
    return found


def _listing(names: list[str]) -> str:
    shown = ", ".join(names[:_SHOWN])
    return shown + (f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else "")


class SegmentationPairsBuilder(Builder):
    """One Item per image with its mask as the ``labels`` asset."""

    name = "segmentation-pairs"
    summary = "Semantic segmentation from images/ and masks/ folders matched by file name"
    options = (
        Option(
            "classes",
            "Class map: YAML or JSON file of `mask value: class name` (default: inferred"
            " from the mask values, with a warning).",
            type=Path,
        ),
        Option("images", "Sub-folder of SOURCE holding the images.", default="images"),
        Option("masks", "Sub-folder of SOURCE holding the masks.", default="masks"),
        Option(
            "mask_suffix",
            "What a mask's file stem adds to its image's (e.g. _mask for a_mask.tif).",
            default="",
        ),
        Option(
            "extensions",
            "File extensions of images and masks, comma separated.",
            default=IMAGE_EXTENSIONS,
        ),
        Option(
            "datetime",
            "Acquisition time of images with none in their TIFF tags or file name.",
        ),
        Option(
            "crs", "CRS of images that have a transform but no CRS (without it: a null geometry)."
        ),
    )

    def __init__(self, source: str, dataset: str, workdir: Path, **options: Any) -> None:
        super().__init__(source, dataset, workdir, **options)
        self.labels = Labels(
            type="raster",
            tasks=["segmentation"],
            properties=None,
            description="pixel classes from the mask",
        )
        self.class_map: dict[int, str] = {}
        self.inferred = False

    @cached_property
    def _pairs(self) -> list[Pair]:
        """Every pair, checked; sets the class map (given or inferred)."""
        root = Path(self.source)
        s = self.settings
        folders = {"images": root / s["images"], "masks": root / s["masks"]}
        for what, folder in folders.items():
            if not folder.is_dir():
                raise InputError(
                    f"{folder}: no such folder",
                    hint=f"SOURCE must hold images/ and masks/ (or pass --{what} NAME)",
                )
        extensions = parse_extensions(s["extensions"])
        images = _by_stem(list_images(folders["images"], extensions), "", "images")
        masks = _by_stem(list_images(folders["masks"], extensions), s["mask_suffix"], "masks")
        lonely_images = sorted(set(images) - set(masks))
        lonely_masks = sorted(set(masks) - set(images))
        if lonely_images or lonely_masks:
            parts = []
            if lonely_images:
                parts.append(
                    f"{len(lonely_images)} image(s) without a mask: {_listing(lonely_images)}"
                )
            if lonely_masks:
                parts.append(
                    f"{len(lonely_masks)} mask(s) without an image: {_listing(lonely_masks)}"
                )
            raise InputError(
                f"{root}: " + "; ".join(parts),
                hint="images and masks are matched by file stem"
                + (f" (mask stem = image stem + {s['mask_suffix']!r})" if s["mask_suffix"] else "")
                + "; add or remove files, or set --mask-suffix",
            )
        if not images:
            raise InputError(f"{folders['images']}: no images ({', '.join(extensions)})")
        stems = sorted(images)
        pairs = list(ordered_map(lambda stem: _check_pair(stem, images[stem], masks[stem]), stems))
        found = sorted({v for pair in pairs for v in pair.counts})
        if s["classes"]:
            self.class_map = load_class_map(Path(s["classes"]))
            unknown = []
            for pair in pairs:
                missing = sorted(set(pair.counts) - set(self.class_map))
                if missing:
                    unknown.append(f"{pair.mask} (values {', '.join(map(str, missing))})")
            if unknown:
                raise InputError(
                    f"mask values missing from the class map {s['classes']}: " + _listing(unknown),
                    hint="add these values to the class map (or set them as the masks' nodata)",
                )
        else:
            if not found:
                raise InputError("the masks hold no values other than nodata")
            self.class_map = {value: str(value) for value in found}
            self.inferred = True
            message = (
                f"no --classes given: class map inferred from the mask values {found};"
                " class names are the values"
            )
            warnings.warn(message, stacklevel=2)
            log.warning(message)
        assert self.labels is not None
        self.labels.classes = list(self.class_map.values())
        if self.inferred:
            self.labels.description = (
                "pixel classes from the mask (class map inferred from the mask values:"
                " names are the values)"
            )
        return pairs

    def _classification(self) -> list[dict[str, Any]]:
        return [
            {"value": value, "name": name, "description": name}
            for value, name in self.class_map.items()
        ]

    def _item(self, pair: Pair) -> dict[str, Any]:
        assert self.labels is not None
        item = image_item(
            pair.image,
            safe_id(pair.stem),
            datetime=self.settings["datetime"],
            crs=self.settings["crs"],
        )
        counts = [
            {"name": self.class_map[value], "count": count} for value, count in pair.counts.items()
        ]
        properties = {"label:overviews": [{"counts": counts}]} if counts else {}
        return add_labels(
            item,
            self.labels,
            label_asset={
                "href": str(pair.mask),
                "type": pair.mask_type,
                "title": "segmentation mask",
                "classification:classes": self._classification(),
            },
            properties=properties,
            extensions=[CLASSIFICATION_EXT],
        )

    def items(self) -> Iterator[dict[str, Any]]:
        """One Item per pair, in file-stem order."""
        yield from ordered_map(self._item, self._pairs)

    def collection(self) -> dict[str, Any]:
        """Classes in ``summaries``; image and mask assets (with the class map) in item_assets."""
        pairs = self._pairs
        base = super().collection()
        classes = ", ".join(f"{v}={n}" for v, n in self.class_map.items())
        base["description"] += f" {len(pairs)} image/mask pairs; classes {classes}" + (
            " (inferred from the mask values)." if self.inferred else "."
        )
        base["stac_extensions"] = [ITEM_ASSETS_EXT, LABEL_EXT, ML_AOI_EXT, CLASSIFICATION_EXT]
        assert self.labels is not None
        base["summaries"] = self.labels.summaries()
        base["item_assets"] = {
            "image": {"title": "image", "roles": ["data"], "ml-aoi:role": "feature"},
            "labels": {
                "title": "segmentation mask",
                "roles": ["labels"],
                "ml-aoi:role": "label",
                "classification:classes": self._classification(),
            },
        }
        return base
