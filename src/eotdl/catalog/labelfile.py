"""Label files: what the labelling page exports, read and checked against a dataset.

A label file is one GeoJSON FeatureCollection. Every feature names its ``item_id``,
``annotator``, ``time``, ``task`` and ``kind``:

- ``chip``: the verdict on one chip (``status`` ``labelled``, ``skip`` or ``unsure``; the
  ``class`` for classification); its geometry is the chip's footprint (WGS84) or null;
- ``box``: a detection box, ``class`` and ``pixel_bbox`` ``[xmin, ymin, xmax, ymax]`` in the
  chip's pixels; geometry WGS84;
- ``polygon``: a segmentation polygon, ``class`` and ``pixel_polygon`` ``[[x, y], …]``.

Pixels are the exact record (the source CRS is named in ``source_crs``); the WGS84 geometry
is there for GIS tools. Reading is bounded (size, feature count, vertices) and every problem
names the feature.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from eotdl.catalog.dataset import DatasetFolder
from eotdl.errors import InputError

MAX_BYTES = 64 * 1024 * 1024
MAX_FEATURES = 1_000_000
MAX_VERTICES = 10_000
TASKS = ("classification", "detection", "segmentation")
KINDS = ("chip", "box", "polygon")
STATUSES = ("labelled", "skip", "unsure")
#: Annotator names: plain words, so nothing a file carries can become markup anywhere.
ANNOTATOR = re.compile(r"^[\w .@+-]{1,100}$")
#: How far (pixels) a shape may stick out of its chip before it is refused.
TOLERANCE = 0.5


@dataclass(frozen=True)
class ChipLabel:
    """One annotator's verdict on one chip."""

    item_id: str
    annotator: str
    time: str
    status: str
    label: str | None


@dataclass(frozen=True)
class Shape:
    """One box or polygon drawn on a chip, in the chip's pixels."""

    item_id: str
    annotator: str
    time: str
    kind: str
    label: str
    points: tuple[tuple[float, float], ...]

    def bbox(self) -> tuple[float, float, float, float]:
        xs = [p[0] for p in self.points]
        ys = [p[1] for p in self.points]
        return min(xs), min(ys), max(xs), max(ys)


@dataclass
class LabelFile:
    """A label file as read: its chips' verdicts and shapes."""

    path: Path
    sha256: str
    task: str
    chips: list[ChipLabel] = field(default_factory=list)
    shapes: list[Shape] = field(default_factory=list)

    @property
    def annotators(self) -> list[str]:
        return sorted({c.annotator for c in self.chips} | {s.annotator for s in self.shapes})

    def latest(self) -> dict[str, ChipLabel]:
        """item id -> the latest verdict (by time, then annotator) for each chip."""
        found: dict[str, ChipLabel] = {}
        for chip in self.chips:
            old = found.get(chip.item_id)
            if old is None or (chip.time, chip.annotator) >= (old.time, old.annotator):
                found[chip.item_id] = chip
        return found

    def shapes_of(self, item_id: str, annotator: str) -> list[Shape]:
        return [s for s in self.shapes if s.item_id == item_id and s.annotator == annotator]


@dataclass(frozen=True)
class LabelTarget:
    """What a label file must agree with: the dataset's task, classes and chip sizes."""

    name: str
    task: str
    classes: tuple[str, ...]
    class_property: str | None
    sizes: Mapping[str, tuple[int, int] | None]


def read_label_file(path: str | Path) -> LabelFile:
    """Read and check the structure of a label file (not yet against a dataset)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such label file")
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise InputError(
            f"{path}: {size:,} bytes is more than a label file may hold ({MAX_BYTES:,})",
            hint="export fewer chips per file",
        )
    data = path.read_bytes()
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise InputError(f"{path}: not JSON ({exc})") from None
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
        raise InputError(f"{path}: not a GeoJSON FeatureCollection")
    features = document.get("features")
    if not isinstance(features, list):
        raise InputError(f"{path}: 'features' must be a list")
    if len(features) > MAX_FEATURES:
        raise InputError(f"{path}: more than {MAX_FEATURES:,} features")
    problems: list[str] = []
    result = LabelFile(path, hashlib.sha256(data).hexdigest(), task="")
    tasks: set[str] = set()
    for index, feature in enumerate(features):
        try:
            task = _read_feature(feature, result)
        except ValueError as exc:
            problems.append(f"feature {index}: {exc}")
            if len(problems) >= 20:
                break
            continue
        tasks.add(task)
    if problems:
        raise InputError(f"{path}: " + "; ".join(problems), hint="nothing was written")
    if len(tasks) > 1:
        raise InputError(f"{path}: features of several tasks ({', '.join(sorted(tasks))})")
    if not tasks:
        raise InputError(f"{path}: no labels in the file")
    result.task = tasks.pop()
    return result


def _text(properties: Mapping[str, Any], key: str, limit: int = 300) -> str:
    value = properties.get(key)
    if not isinstance(value, str) or not value or len(value) > limit:
        raise ValueError(f"'{key}' must be a non-empty string of at most {limit} characters")
    if any(ord(ch) < 32 for ch in value):
        raise ValueError(f"'{key}' holds control characters")
    return value


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{what} must be finite numbers")
    return float(value)


def _read_feature(feature: Any, into: LabelFile) -> str:
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raise ValueError("not a GeoJSON Feature")
    properties = feature.get("properties")
    if not isinstance(properties, dict):
        raise ValueError("no properties")
    item_id = _text(properties, "item_id")
    annotator = _text(properties, "annotator", 100)
    if not ANNOTATOR.match(annotator):
        raise ValueError(
            f"annotator {annotator!r} may hold only letters, digits, spaces and . @ + - _"
        )
    time = _text(properties, "time", 64)
    task = properties.get("task")
    if task not in TASKS:
        raise ValueError(f"'task' must be one of {', '.join(TASKS)}")
    kind = properties.get("kind", "chip")
    if kind not in KINDS:
        raise ValueError(f"'kind' must be one of {', '.join(KINDS)}")
    label = properties.get("class")
    if label is not None:
        label = _text(properties, "class", 200)
    if kind == "chip":
        status = properties.get("status", "labelled")
        if status not in STATUSES:
            raise ValueError(f"'status' must be one of {', '.join(STATUSES)}")
        if task == "classification" and status == "labelled" and label is None:
            raise ValueError("a labelled classification chip needs a 'class'")
        into.chips.append(ChipLabel(item_id, annotator, time, status, label))
        return str(task)
    if task == "classification":
        raise ValueError(f"a {kind} in a classification file")
    if label is None:
        raise ValueError(f"a {kind} needs a 'class'")
    points: list[tuple[float, float]]
    if kind == "box":
        raw = properties.get("pixel_bbox")
        if not isinstance(raw, list) or len(raw) != 4:
            raise ValueError("'pixel_bbox' must be [xmin, ymin, xmax, ymax]")
        x0, y0, x1, y1 = (_number(v, "'pixel_bbox'") for v in raw)
        if x1 <= x0 or y1 <= y0:
            raise ValueError("'pixel_bbox' is empty (xmax <= xmin or ymax <= ymin)")
        points = [(x0, y0), (x1, y1)]
    else:
        raw = properties.get("pixel_polygon")
        if not isinstance(raw, list) or not 3 <= len(raw) <= MAX_VERTICES:
            raise ValueError(f"'pixel_polygon' must hold 3 to {MAX_VERTICES:,} [x, y] points")
        points = []
        for point in raw:
            if not isinstance(point, list) or len(point) != 2:
                raise ValueError("'pixel_polygon' points must be [x, y]")
            points.append((_number(point[0], "points"), _number(point[1], "points")))
    into.shapes.append(Shape(item_id, annotator, time, str(kind), label, tuple(points)))
    return str(task)


def label_target(folder: DatasetFolder) -> LabelTarget:
    """The task, classes and chip sizes of a dataset, for checking label files."""
    collection = folder.read_collection()
    summaries = collection.get("summaries") or {}
    tasks = summaries.get("label:tasks") or []
    sizes: dict[str, tuple[int, int] | None] = {}
    classes: list[str] = []
    class_property: str | None = None
    declared = summaries.get("label:classes") or []
    for item in folder.iter_items():
        properties = item.get("properties") or {}
        sizes[str(item["id"])] = chip_size(item)
        if not declared:
            declared = properties.get("label:classes") or []
        if not tasks:
            tasks = properties.get("label:tasks") or []
    for entry in declared:
        if isinstance(entry, dict):
            class_property = entry.get("name") if class_property is None else class_property
            classes.extend(str(c) for c in entry.get("classes") or [] if str(c) not in classes)
    task = next((t for t in tasks if t in TASKS), "")
    if not task:
        raise InputError(
            f"dataset {folder.name!r} declares no classification, detection or segmentation task",
            hint="label files apply to label datasets (label:tasks in the collection summaries)",
        )
    return LabelTarget(folder.name, task, tuple(classes), class_property, sizes)


def chip_size(item: Mapping[str, Any]) -> tuple[int, int] | None:
    """(width, height) in pixels of an item's image, from ``proj:shape`` (rows, columns)."""
    shape = (item.get("properties") or {}).get("proj:shape")
    for asset in (item.get("assets") or {}).values():
        if shape is None and isinstance(asset, dict) and "data" in (asset.get("roles") or []):
            shape = asset.get("proj:shape")
    if isinstance(shape, list) and len(shape) == 2 and all(isinstance(v, int) for v in shape):
        return int(shape[1]), int(shape[0])
    return None


def check_label_file(labels: LabelFile, target: LabelTarget) -> None:
    """Refuse a label file that does not fit the dataset: every problem, named, at once."""
    problems: list[str] = []
    if labels.task != target.task:
        problems.append(f"the file holds {labels.task} labels, the dataset is {target.task}")
    named = {c.item_id for c in labels.chips} | {s.item_id for s in labels.shapes}
    unknown = sorted(named - set(target.sizes))
    if unknown:
        problems.append(f"unknown item ids: {_listing(unknown)}")
    used = {c.label for c in labels.chips if c.label is not None} | {s.label for s in labels.shapes}
    undeclared = sorted(used - set(target.classes))
    if undeclared:
        problems.append(
            f"classes not declared by the dataset: {_listing(undeclared)}"
            f" (declared: {', '.join(target.classes) or 'none'})"
        )
    outside = [s for s in labels.shapes if not _inside(s, target.sizes.get(s.item_id))]
    if outside:
        problems.append(
            "shapes outside their chip: "
            + _listing([f"{s.item_id} {s.kind} {[round(v, 1) for v in s.bbox()]}" for s in outside])
        )
    orphans = {(s.item_id, s.annotator) for s in labels.shapes} - {
        (c.item_id, c.annotator) for c in labels.chips
    }
    if orphans:
        problems.append(
            "shapes with no chip verdict from their annotator: "
            + _listing(sorted(f"{i} ({a})" for i, a in orphans))
        )
    if problems:
        raise InputError(
            f"{labels.path}: does not fit dataset {target.name!r}: " + "; ".join(problems),
            hint="nothing was written; export the labels again from this dataset's page",
        )


def _inside(shape: Shape, size: tuple[int, int] | None) -> bool:
    if size is None:
        return True
    xmin, ymin, xmax, ymax = shape.bbox()
    width, height = size
    return (
        xmin >= -TOLERANCE
        and ymin >= -TOLERANCE
        and xmax <= width + TOLERANCE
        and ymax <= height + TOLERANCE
    )


def _listing(values: Iterable[str], limit: int = 5) -> str:
    values = list(values)
    shown = ", ".join(repr(v) for v in values[:limit])
    return shown + (f" and {len(values) - limit} more" if len(values) > limit else "")
