"""The ``stac-api`` builder's geographic inputs: the area of interest (``--bbox``/``--aoi``),
in-situ points with times and values (``--points``), and label polygons rasterised onto chips.

The GeoJSON files are read through :mod:`eotdl.builders.geojsonfile` (its one guard).
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from shapely.geometry import box, mapping
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union

from eotdl.builders.chips import Frame, from_lonlat
from eotdl.builders.geojsonfile import read_geojson, shape_of
from eotdl.catalog.times import parse_utc
from eotdl.errors import InputError

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass
class LabelShapes:
    """Label polygons (lon/lat) with their class codes, rasterised onto chips on demand."""

    geometries: list[BaseGeometry]
    codes: list[int]
    names: dict[int, str] = field(default_factory=dict)
    _tree: Any = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def load(cls, path: Path, class_property: str) -> LabelShapes:
        """Polygons and classes from a GeoJSON file; string classes become codes 1..N."""
        features = read_geojson(path, "labels")
        geometries: list[BaseGeometry] = []
        values: list[Any] = []
        for number, feature in enumerate(features, start=1):
            props = feature.get("properties") or {}
            if not feature.get("geometry"):
                continue
            if class_property not in props or props[class_property] is None:
                raise InputError(
                    f"{path}: feature #{number} has no {class_property!r} property",
                    hint="name the property holding the class with --class-property",
                )
            geometries.append(shape_of(feature["geometry"], f"{path}: feature {number - 1}"))
            values.append(props[class_property])
        if not geometries:
            raise InputError(f"{path}: no label geometries")
        codes, names = _class_codes(values, path)
        return cls(geometries, codes, names)

    @property
    def classes(self) -> list[int]:
        """The class codes used, sorted."""
        return sorted(set(self.codes))

    def rasterize(self, frame: Frame) -> np.ndarray:
        """A (1, rows, cols) uint8 mask: the class code under each pixel, 0 elsewhere."""
        from rasterio.features import rasterize
        from shapely import STRtree

        with self._lock:
            if self._tree is None:
                self._tree = STRtree(self.geometries)
            tree = self._tree
        hits = sorted(int(i) for i in tree.query(frame.footprint()))
        out = np.zeros((1, frame.height, frame.width), dtype="uint8")
        if not hits:
            return out
        shapes = [
            (mapping(from_lonlat(self.geometries[i], frame.crs)), self.codes[i]) for i in hits
        ]
        out[0] = rasterize(
            shapes,
            out_shape=(frame.height, frame.width),
            transform=frame.transform,
            fill=0,
            dtype="uint8",
        )
        return out


def _class_codes(values: Iterable[Any], path: Path) -> tuple[list[int], dict[int, str]]:
    """Integer classes as they are (1-255); names sorted and numbered from 1."""
    values = list(values)
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        bad = sorted({v for v in values if not 1 <= v <= 255})
        if bad:
            raise InputError(
                f"{path}: class values {bad[:5]} are outside 1..255",
                hint="0 is the mask's background; use codes 1-255 or class names",
            )
        return values, {}
    names = sorted({str(v) for v in values})
    if len(names) > 255:
        raise InputError(f"{path}: {len(names)} classes; a uint8 mask holds at most 255")
    number = {name: index for index, name in enumerate(names, start=1)}
    return [number[str(v)] for v in values], {code: name for name, code in number.items()}


@dataclass(frozen=True)
class Observation:
    """One in-situ observation: where, when, its id, its measured values and its feature."""

    index: int
    id: str
    lon: float
    lat: float
    when: dt.datetime
    values: dict[str, Any]
    feature: dict[str, Any]


def parse_area(bbox: Any, aoi: Any) -> BaseGeometry | None:
    """The area of interest in longitude/latitude, from ``--bbox`` or ``--aoi``."""
    if bbox is not None and bbox != "" and aoi:
        raise InputError("give --bbox or --aoi, not both")
    if aoi:
        features = read_geojson(Path(aoi), "--aoi")
        geometries = [
            shape_of(f["geometry"], f"{aoi}: feature {index}")
            for index, f in enumerate(features)
            if f.get("geometry")
        ]
        area = unary_union(geometries) if geometries else None
        if area is None or area.is_empty or area.area == 0:
            raise InputError(f"--aoi {aoi}: needs at least one polygon")
        return area
    if bbox is None or bbox == "":
        return None
    values = bbox.split(",") if isinstance(bbox, str) else list(bbox)
    try:
        west, south, east, north = (float(v) for v in values)
    except ValueError:
        raise InputError(
            f"--bbox {bbox!r}: write four numbers W,S,E,N in degrees",
            hint="e.g. --bbox 1.40,43.55,1.50,43.62",
        ) from None
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise InputError(
            f"--bbox {bbox!r}: need -180 <= W < E <= 180 and -90 <= S < N <= 90",
            hint="split an area that crosses the antimeridian into two datasets",
        )
    return box(west, south, east, north)


def read_points(path: Path, time_property: str) -> list[Observation]:
    """In-situ observations: GeoJSON points, each with a time and measured values."""
    features = read_geojson(path, "--points")
    ids = [f.get("id", (f.get("properties") or {}).get("id")) for f in features]
    unique = all(i is not None for i in ids) and len({str(i) for i in ids}) == len(ids)
    width = len(str(max(len(features) - 1, 0)))
    tasks = []
    for index, feature in enumerate(features):
        geometry = feature.get("geometry") or {}
        props = dict(feature.get("properties") or {})
        if geometry.get("type") != "Point":
            raise InputError(f"{path}: feature #{index + 1} is not a Point")
        if props.get(time_property) in (None, ""):
            raise InputError(
                f"{path}: feature #{index + 1} has no {time_property!r} property",
                hint="name the property holding the observation time with --time-property",
            )
        try:
            when = parse_utc(str(props.pop(time_property)))
        except ValueError as exc:
            raise InputError(f"{path}: feature #{index + 1}: its time: {exc}") from None
        lon, lat = (float(v) for v in geometry["coordinates"][:2])
        if abs(lon) > 180 or abs(lat) > 90:
            raise InputError(f"{path}: feature #{index + 1}: ({lon}, {lat}) is not lon/lat")
        point_id = _SAFE.sub("-", str(ids[index])).strip("-.") if unique else ""
        props.pop("id", None)
        tasks.append(
            Observation(
                index,
                point_id or f"p{index:0{width}d}",
                lon,
                lat,
                when,
                {k: v for k, v in props.items() if ":" not in k},
                feature,
            )
        )
    if not tasks:
        raise InputError(f"{path}: no points")
    return tasks
