"""The filters every reader shares: splits, bounding boxes and datetime intervals.

Parsed once from what a user typed (CLI, Python, STAC API query) and applied either to Item
dicts (:class:`ItemFilter`, for ``get`` and the loaders) or to columns (:mod:`.search`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eotdl.catalog.times import Interval, item_times, overlaps, parse_interval
from eotdl.catalog.vocabulary import SPLIT_ALIASES, SPLITS, properties_split
from eotdl.errors import InputError

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry

BBox = tuple[float, float, float, float]


def parse_split(split: str | None) -> str | None:
    """``train``, ``validate`` or ``test`` (``validation`` and ``val`` are aliases)."""
    if split is None or split == "":
        return None
    name = SPLIT_ALIASES.get(split.strip().lower(), split.strip().lower())
    if name not in SPLITS:
        raise InputError(
            f"unknown split {split!r}", hint="use train, validate (or validation) or test"
        )
    return name


def parse_bbox(value: str | Sequence[float] | Sequence[str]) -> BBox:
    """``minx,miny,maxx,maxy`` (a 6-number 3D bbox drops its heights)."""
    parts: list[Any] = value.split(",") if isinstance(value, str) else list(value)
    try:
        numbers = [float(p) for p in parts]
    except (TypeError, ValueError):
        raise InputError(
            f"bbox {value!r} is not a list of numbers", hint="write minx,miny,maxx,maxy"
        ) from None
    if len(numbers) == 6:
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    if len(numbers) != 4 or any(n != n for n in numbers):
        raise InputError(f"bbox {value!r} needs 4 numbers", hint="write minx,miny,maxx,maxy")
    minx, miny, maxx, maxy = numbers
    if miny > maxy:
        raise InputError(f"bbox {value!r}: miny is above maxy", hint="write minx,miny,maxx,maxy")
    if not (-180 <= minx <= 180 and -180 <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise InputError(f"bbox {value!r} is outside -180..180, -90..90 (lon/lat)")
    return (minx, miny, maxx, maxy)


def bbox_geometry(bbox: BBox) -> BaseGeometry:
    """The bbox as a polygon; one crossing the antimeridian (minx > maxx) as two."""
    import shapely
    from shapely.geometry import box

    minx, miny, maxx, maxy = bbox
    if minx > maxx:
        return shapely.MultiPolygon([box(minx, miny, 180, maxy), box(-180, miny, maxx, maxy)])
    return box(minx, miny, maxx, maxy)


def parse_keys(value: str | Iterable[str] | None) -> list[str] | None:
    """Asset keys from ``a,b`` or a list; None means all."""
    if value is None:
        return None
    parts = value.split(",") if isinstance(value, str) else list(value)
    keys = [p.strip() for p in parts if p and p.strip()]
    return keys or None


@dataclass(frozen=True)
class ItemFilter:
    """Which Items a reader keeps: by split, bbox (intersecting the geometry) and time."""

    split: str | None = None
    bbox: BBox | None = None
    interval: Interval | None = None
    ids: frozenset[str] | None = None

    @classmethod
    def of(
        cls,
        split: str | None = None,
        bbox: str | Sequence[float] | None = None,
        datetime: str | None = None,
        ids: Iterable[str] | None = None,
    ) -> ItemFilter:
        return cls(
            parse_split(split),
            parse_bbox(bbox) if bbox is not None else None,
            parse_interval(datetime) if datetime else None,
            frozenset(ids) if ids is not None else None,
        )

    @property
    def empty(self) -> bool:
        return self.split is None and self.bbox is None and self.interval is None and not self.ids

    def matches(self, item: Mapping[str, Any]) -> bool:
        if self.ids is not None and item.get("id") not in self.ids:
            return False
        properties = item.get("properties") or {}
        if self.split is not None and properties_split(properties) != self.split:
            return False
        if self.interval is not None and not overlaps(item_times(properties), self.interval):
            return False
        if self.bbox is not None:
            import shapely
            from shapely.geometry import shape

            geometry = item.get("geometry")
            if not geometry:
                return False
            try:
                shape_ = shape(geometry)
            except (ValueError, TypeError, AttributeError, shapely.errors.ShapelyError):
                return False
            return bool(shape_.intersects(bbox_geometry(self.bbox)))
        return True
