"""The filters every reader shares: splits, bounding boxes and datetime intervals.

Parsed once from what a user typed (CLI, Python, STAC API query) and applied either to Item
dicts (:class:`ItemFilter`, for ``get`` and the loaders) or to columns (:mod:`.search`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eotdl.catalog.vocabulary import SPLIT_ALIASES, SPLITS, properties_split
from eotdl.errors import InputError

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry

BBox = tuple[float, float, float, float]
#: An interval of UTC instants; None is open.
Interval = tuple[dt.datetime | None, dt.datetime | None]
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


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


#: RFC 3339 date-time: date, T, time, optional fraction, zone (Z or ±hh:mm).
_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})$"
)
_TIME_HINT = (
    "write an RFC 3339 date-time like 2020-01-01T00:00:00Z, or an interval A/B with .. for an"
    " open end"
)
_LENIENT_HINT = (
    "write e.g. 2020-01-01T00:00:00Z, a date like 2020-01-01, or an interval A/B with .. for"
    " an open end"
)


def parse_instant(text: str, end: bool = False, strict: bool = False) -> dt.datetime:
    """An RFC 3339 time in UTC; an impossible one (2023-02-30) is an InputError, never a crash.

    ``strict`` (the STAC API) takes RFC 3339 date-times only; otherwise (the CLI, Python)
    a date means its first or, with ``end``, its last instant, and a time with no zone is UTC.
    """
    value = text.strip() if isinstance(text, str) else ""
    hint = _TIME_HINT if strict else _LENIENT_HINT
    if not strict and _DATE.match(value):
        try:
            midnight = dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC)
        except ValueError as exc:
            raise InputError(f"{text!r} is not a date: {exc}", hint=hint) from None
        return midnight + dt.timedelta(days=1, microseconds=-1) if end else midnight
    match = _RFC3339.match(value)
    if match is None and not strict:
        match = _RFC3339.match(_lenient(value))
    if match is None:
        raise InputError(f"{text!r} is not an RFC 3339 date-time", hint=hint)
    year, month, day, hour, minute, second, fraction, zone = match.groups("")
    try:
        if zone in ("Z", "z"):
            tz = dt.UTC
        else:
            sign = -1 if zone[0] == "-" else 1
            hours, minutes = int(zone[1:3]), int(zone[4:6])
            if hours > 23 or minutes > 59:
                raise ValueError(f"time zone offset {zone} out of range")
            tz = dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes))
        leap = int(second) == 60  # a leap second: the last instant of its minute
        moment = dt.datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            59 if leap else int(second),
            int(fraction[:6].ljust(6, "0")),
            tzinfo=tz,
        )
        return moment.astimezone(dt.UTC)
    except (ValueError, OverflowError) as exc:
        raise InputError(f"{text!r} is not a valid date-time: {exc}", hint=hint) from None


def _lenient(value: str) -> str:
    """What the CLI also accepts, rewritten as RFC 3339: a space for T, no seconds, no zone."""
    value = value.replace(" ", "T", 1) if re.match(r"^\d{4}-\d{2}-\d{2} \d", value) else value
    match = re.match(r"^(\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2})((?:[Zz]|[+-]\d{2}:\d{2})?)$", value)
    if match:
        value = f"{match.group(1)}:00{match.group(2)}"
    if re.match(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?$", value):
        value += "Z"
    return value


def parse_interval(value: str, strict: bool = False) -> Interval:
    """``A``, ``A/B``, ``../B`` or ``A/..`` as a closed interval of UTC instants."""
    if not isinstance(value, str):
        raise InputError("datetime must be a string: A, A/B, ../B or A/..")
    text = value.strip()
    if not text:
        raise InputError("empty datetime", hint="write A, A/B, ../B or A/..")
    if "/" not in text:
        return parse_instant(text, strict=strict), parse_instant(text, end=True, strict=strict)
    if text.count("/") != 1:
        raise InputError(f"datetime {value!r} has more than one '/'", hint="write A/B")
    first, second = (p.strip() for p in text.split("/"))
    start = None if first in ("", "..") else parse_instant(first, strict=strict)
    stop = None if second in ("", "..") else parse_instant(second, end=True, strict=strict)
    if start is None and stop is None:
        raise InputError(f"datetime {value!r} is open at both ends", hint="give A or B")
    if start is not None and stop is not None and start > stop:
        raise InputError(f"datetime {value!r}: the start is after the end")
    return start, stop


def item_times(properties: Mapping[str, Any]) -> tuple[dt.datetime | None, dt.datetime | None]:
    """An item's time span: ``start_datetime``/``end_datetime``, else ``datetime`` twice."""
    start = properties.get("start_datetime") or properties.get("datetime")
    end = properties.get("end_datetime") or properties.get("datetime")
    try:
        return (
            parse_instant(start) if isinstance(start, str) else None,
            parse_instant(end) if isinstance(end, str) else None,
        )
    except InputError:
        return None, None


def overlaps(span: tuple[dt.datetime | None, dt.datetime | None], interval: Interval) -> bool:
    """Whether an item's time span meets the interval (an item with no time never does)."""
    start, end = span
    if start is None or end is None:
        return False
    low, high = interval
    return (high is None or start <= high) and (low is None or end >= low)


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
