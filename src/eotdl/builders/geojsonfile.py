"""GeoJSON read through one guard, for every builder that reads it.

GeoJSON is longitude/latitude (RFC 7946); a legacy ``crs`` member is honoured.

Every builder that reads GeoJSON goes through :func:`features_of` (features that are objects,
properties that are objects, geometries checked by :func:`check_geometry`) and makes shapely
shapes with :func:`shape_of`: a malformed feature (``"features": [5]``, NaN coordinates, an
empty or two-point ring) is an :class:`InputError` naming the file and the feature's index.
:func:`project` and :func:`check_lonlat` move geometries between CRSs and check the result.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry

from eotdl.builders.chips import reproject
from eotdl.errors import InputError

#: How deep the coordinates of each GeoJSON geometry type nest (0: one position).
_DEPTHS = {
    "Point": 0,
    "MultiPoint": 1,
    "LineString": 1,
    "MultiLineString": 2,
    "Polygon": 2,
    "MultiPolygon": 3,
}
_MAX_COLLECTION_DEPTH = 8


def check_geometry(value: Any, where: str, _depth: int = 0) -> dict[str, Any] | None:
    """``value`` if it is a GeoJSON geometry shapely can take (or None, a null geometry).

    Checked: a known type; coordinates nested as the type says, every position two or more
    finite numbers, no empty arrays, lines of two positions or more, rings of four or more.
    """
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InputError(f"{where}: geometry is {_json_kind(value)}, not a GeoJSON geometry")
    kind = value.get("type")
    if kind == "GeometryCollection":
        parts = value.get("geometries")
        if not isinstance(parts, list) or _depth >= _MAX_COLLECTION_DEPTH:
            raise InputError(f"{where}: a GeometryCollection needs a 'geometries' list")
        for index, part in enumerate(parts):
            if part is None:
                raise InputError(f"{where}: geometries[{index}] is null")
            check_geometry(part, f"{where}: geometries[{index}]", _depth + 1)
        return value
    if not isinstance(kind, str) or kind not in _DEPTHS:
        raise InputError(
            f"{where}: geometry type {kind!r} is not a GeoJSON type",
            hint="one of " + ", ".join([*_DEPTHS, "GeometryCollection"]),
        )
    _check_coordinates(value.get("coordinates"), _DEPTHS[kind], kind, where)
    return value


def _check_coordinates(value: Any, depth: int, kind: str, where: str) -> None:
    if depth == 0:
        if (
            not isinstance(value, list)
            or len(value) < 2
            or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                for v in value
            )
        ):
            raise InputError(
                f"{where}: {kind} position {_shown(value)} is not [lon, lat] in finite numbers"
            )
        return
    if not isinstance(value, list) or not value:
        raise InputError(f"{where}: {kind} has empty or missing coordinates ({_shown(value)})")
    ring = kind in ("Polygon", "MultiPolygon") and depth == 1
    line = kind in ("LineString", "MultiLineString") and depth == 1
    if ring and len(value) < 4:
        raise InputError(
            f"{where}: a {kind} ring has {len(value)} position(s); a ring needs at least four"
            " (the first repeated last)"
        )
    if line and len(value) < 2:
        raise InputError(f"{where}: a {kind} line needs at least two positions")
    for part in value:
        _check_coordinates(part, depth - 1, kind, where)


def shape_of(geometry: Any, where: str) -> BaseGeometry:
    """A shapely geometry from a GeoJSON geometry, checked first (:func:`check_geometry`)."""
    checked = check_geometry(geometry, where)
    if checked is None:
        raise InputError(f"{where}: the geometry is null")
    try:
        return shape(checked)
    except Exception as exc:  # noqa: BLE001 - shapely/GEOS raise several kinds
        raise InputError(f"{where}: not a valid geometry ({exc})") from None


def project(geometry: dict[str, Any], source: Any, target: Any, where: str) -> dict[str, Any]:
    """``geometry`` from CRS ``source`` to ``target``; a point PROJ cannot project (a latitude
    past the pole for UTM…) is an InputError naming the feature, not a GDAL traceback."""
    from rasterio.warp import transform_geom

    try:
        return dict(transform_geom(source, target, geometry))
    except Exception as exc:  # noqa: BLE001 - GDAL/PROJ raise CPLE_* errors, not RasterioError
        raise InputError(
            f"{where}: cannot be projected from {source} to {target} ({exc})",
            hint="check the coordinates and the CRS they are given in",
        ) from None


def check_lonlat(geometry: dict[str, Any] | None, where: str) -> None:
    """Refuse a (checked) geometry with a longitude past ±180 or a latitude past ±90."""
    if geometry is None:
        return
    parts = geometry.get("geometries")
    if isinstance(parts, list):
        for part in parts:
            check_lonlat(part, where)
        return
    bounds = _bounds(geometry.get("coordinates"))
    if bounds and (bounds[0] < -180 or bounds[2] > 180 or bounds[1] < -90 or bounds[3] > 90):
        raise InputError(
            f"{where}: coordinates {[round(b, 6) for b in bounds]} are not longitude/latitude"
            " (|lon| <= 180, |lat| <= 90)",
            hint="GeoJSON is lon/lat; give the CRS of other coordinates (a legacy 'crs' member)",
        )


def _bounds(value: Any) -> list[float] | None:
    if isinstance(value, list) and value and not isinstance(value[0], list):
        return [float(value[0]), float(value[1]), float(value[0]), float(value[1])]
    found = [b for b in (_bounds(v) for v in value or []) if b]
    if not found:
        return None
    return [
        min(b[0] for b in found),
        min(b[1] for b in found),
        max(b[2] for b in found),
        max(b[3] for b in found),
    ]


def features_of(data: Any, path: Path) -> list[dict[str, Any]]:
    """The features of parsed GeoJSON (FeatureCollection, Feature or bare geometry), each an
    object with object (or null) properties and a checked (or null) geometry."""
    if not isinstance(data, dict):
        raise InputError(f"{path}: not a GeoJSON object")
    kind = data.get("type")
    if kind == "FeatureCollection":
        features = data.get("features")
    elif kind == "Feature":
        features = [data]
    elif isinstance(kind, str) and "coordinates" in data or kind == "GeometryCollection":
        features = [{"type": "Feature", "geometry": data, "properties": {}}]
    else:
        features = None
    if not isinstance(features, list):
        raise InputError(f"{path}: expected a GeoJSON FeatureCollection, Feature or geometry")
    for index, feature in enumerate(features):
        where = f"{path}: feature {index}"
        if not isinstance(feature, dict):
            raise InputError(f"{where} is {_json_kind(feature)}, not a GeoJSON Feature object")
        if not isinstance(feature.get("properties"), (dict, type(None))):
            raise InputError(f"{where}: 'properties' is {_json_kind(feature['properties'])}")
        check_geometry(feature.get("geometry"), where)
    return features


def _json_kind(value: Any) -> str:
    """What a JSON value is, for messages: ``a number (5)``, ``a list``…"""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, (int, float)):
        return f"a number ({_shown(value)})"
    if isinstance(value, str):
        return f"a string ({_shown(value)})"
    return "a list" if isinstance(value, list) else "an object"


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def read_geojson(path: Path, what: str) -> list[dict[str, Any]]:
    """The features of a GeoJSON file (FeatureCollection, Feature or bare geometry)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: {what} file not found") from None
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a GeoJSON file ({exc})") from None
    features = features_of(data, path)
    crs = _legacy_crs(data)
    if crs not in (None, "EPSG:4326"):
        for index, feature in enumerate(features):
            if feature.get("geometry"):
                where = f"{path}: feature {index}"
                try:
                    geom = reproject(shape_of(feature["geometry"], where), crs, "EPSG:4326")
                except InputError:
                    raise
                except Exception as exc:  # noqa: BLE001 - pyproj raises several kinds
                    raise InputError(f"{where}: cannot reproject from {crs} ({exc})") from None
                feature["geometry"] = mapping(geom)
    for index, feature in enumerate(features):
        check_lonlat(feature.get("geometry"), f"{path}: feature {index}")
    return features


def _legacy_crs(data: dict[str, Any]) -> str | None:
    """The pre-RFC 7946 ``crs`` member (e.g. ``urn:ogc:def:crs:EPSG::32631``), if any."""
    crs = data.get("crs")
    props = crs.get("properties") if isinstance(crs, dict) else None
    name = props.get("name") if isinstance(props, dict) else None
    if not name:
        return None
    text = str(name)
    if text.endswith("CRS84"):
        return "EPSG:4326"
    code = text.rsplit(":", 1)[-1]
    return f"EPSG:{code}" if code.isdigit() else text
