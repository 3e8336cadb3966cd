"""A few Items as rows of an existing stac-geoparquet file, without stac-geoparquet or pandas.

A build that changed one item of a million splices that item's row into ``items.parquet``
(:mod:`eotdl.catalog.parquetsplice`). Converting it with stac-geoparquet imports pandas,
pyarrow.dataset, pystac, shapely and pyproj (about 0.6 s), and any ``pyarrow.array`` of Python
values imports pandas (0.25 s): more than the rest of that build. The file's schema is known,
so :func:`fitting_rows` needs no type inference: each Item is laid out as stac-geoparquet lays
it out (properties raised to columns unless a top-level key has their name, the bbox as a
struct of its edges, the geometry as ISO WKB), parsed by Arrow's JSON reader against that
schema, then checked value by value against the Item (every number, string, list, nested
object and time read back equal). What it does not reproduce exactly (a ``proj:geometry``, an
empty object, a 3-D or unclosed geometry, an odd bbox or datetime, a value that does not fit
the file's types) is declined: None, and the caller converts with stac-geoparquet, whose
answer (or error) stands. ``tests/catalog/test_arrowitems.py`` compares both on random Items.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import struct
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.json as pajson

from eotdl.catalog.arrowbuffers import binary_array

#: The STAC columns stac-geoparquet stores as timestamps.
TIME_COLUMNS = (
    "datetime",
    "start_datetime",
    "end_datetime",
    "created",
    "updated",
    "expires",
    "published",
    "unpublished",
)
#: The times taken here: RFC 3339 to the microsecond (others go to stac-geoparquet).
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?(Z|[+-]\d\d:\d\d)")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
#: ISO WKB geometry type codes.
_CODES = {
    "Point": 1,
    "LineString": 2,
    "Polygon": 3,
    "MultiPoint": 4,
    "MultiLineString": 5,
    "MultiPolygon": 6,
}
#: Integers a double holds exactly.
_EXACT = 2**53


class _Declined(Exception):
    """An Item this module does not convert exactly as stac-geoparquet does."""


def fitting_rows(items: Sequence[Mapping[str, Any]], schema: pa.Schema) -> pa.Table | None:
    """``items`` as rows of a stac-geoparquet file of ``schema`` (its columns, types and
    field metadata), or None when this module does not give them exactly as stac-geoparquet
    would, or they do not fit the schema."""
    if not items or sys.byteorder != "little" or "geometry" not in schema.names:
        return None
    try:
        rows, geometries = _layout(items, schema)
        shape = pa.schema([f for f in schema if f.name != "geometry"])
        table = pajson.read_json(
            io.BytesIO(b"\n".join(_dumps(row) for row in rows)),
            read_options=pajson.ReadOptions(use_threads=False, block_size=1 << 26),
            parse_options=pajson.ParseOptions(
                explicit_schema=shape, unexpected_field_behavior="error"
            ),
        )
        for row, got in zip(rows, _read_back(table), strict=True):
            _check(row, got, table.schema)
        at = schema.get_field_index("geometry")
        return table.add_column(at, schema.field(at), binary_array(geometries))
    except (_Declined, pa.ArrowException, ValueError, TypeError, KeyError, OverflowError):
        return None


def _layout(
    items: Sequence[Mapping[str, Any]], schema: pa.Schema
) -> tuple[list[dict[str, Any]], list[bytes | None]]:
    """Each Item as a row of columns (JSON values) and its geometry as WKB (None: null)."""
    top: set[str] = set()
    for item in items:
        top.update(item)
    edges = schema.field("bbox").type if "bbox" in schema.names else None
    if edges is None or not pa.types.is_struct(edges):
        raise _Declined
    names = [edges.field(i).name for i in range(edges.num_fields)]
    rows: list[dict[str, Any]] = []
    geometries: list[bytes | None] = []
    for item in items:
        properties = item.get("properties")
        if not isinstance(properties, dict) or not isinstance(item.get("assets"), dict):
            raise _Declined
        row = {k: v for k, v in item.items() if k not in ("properties", "geometry", "bbox")}
        row.update((k, v) for k, v in properties.items() if k not in top)
        geometry = item.get("geometry")
        if geometry is None:
            geometries.append(None)
            row["bbox"] = None
        else:
            geometries.append(iso_wkb(geometry))
            row["bbox"] = _edges(item.get("bbox"), names)
        for key in [k for k, v in row.items() if v == {} and k not in schema.names]:
            del row[key]  # an empty object stac-geoparquet leaves out (``assets: {}``)
        rows.append(row)
    return rows, geometries


def _edges(bbox: Any, names: list[str]) -> dict[str, Any]:
    if not isinstance(bbox, list) or len(bbox) != len(names):
        raise _Declined
    for value in bbox:
        if type(value) not in (int, float) or (type(value) is int and abs(value) > _EXACT):
            raise _Declined
    return dict(zip(names, bbox, strict=True))


def _dumps(row: dict[str, Any]) -> bytes:
    return json.dumps(row, ensure_ascii=False, allow_nan=False).encode()


def _read_back(table: pa.Table) -> list[dict[str, Any]]:
    """The parsed rows as Python values, times as microseconds since 1970 (a timestamp's
    own conversion to Python imports pandas)."""
    columns = []
    for field, column in zip(table.schema, table.columns, strict=True):
        if pa.types.is_timestamp(field.type):
            column = column.cast(pa.int64())
        elif "timestamp" in str(field.type):
            raise _Declined  # a time inside a nested column
        columns.append(column)
    rows: list[dict[str, Any]] = pa.Table.from_arrays(columns, table.column_names).to_pylist()
    return rows


def _check(row: dict[str, Any], got: dict[str, Any], schema: pa.Schema) -> None:
    """Raise :class:`_Declined` unless the parsed row holds exactly the row's values."""
    for name, value in got.items():
        expected = row.get(name)
        if pa.types.is_timestamp(schema.field(name).type):
            if value != _micros(expected):
                raise _Declined
        elif not _same(expected, value):
            raise _Declined


def _micros(value: Any) -> int | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _TIME.fullmatch(value):
        raise _Declined
    moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return (moment - _EPOCH) // dt.timedelta(microseconds=1)


def _same(expected: Any, got: Any) -> bool:
    """``got`` (read back from Arrow) holds exactly ``expected`` (from the Item)."""
    if expected is None or got is None:
        return expected is None and got is None
    kind = type(expected)
    if kind is bool or kind is str:
        return type(got) is kind and got == expected
    if kind is int:
        if type(got) is float:
            return abs(expected) <= _EXACT and got == expected
        return type(got) is int and got == expected
    if kind is float:
        return type(got) is float and got == expected
    if kind is list:
        return (
            type(got) is list
            and len(got) == len(expected)
            and all(_same(e, g) for e, g in zip(expected, got, strict=True))
        )
    if kind is dict:
        if not expected or type(got) is not dict or not set(expected) <= set(got):
            return False  # an empty object: stac-geoparquet may give a null instead
        return all(_same(expected.get(k), v) for k, v in got.items())
    return False


def iso_wkb(geometry: Any) -> bytes:
    """A 2-D GeoJSON geometry as little-endian ISO WKB (what shapely writes for it)."""
    if not isinstance(geometry, dict):
        raise _Declined
    kind = geometry.get("type")
    code = _CODES.get(kind) if isinstance(kind, str) else None
    coordinates = geometry.get("coordinates")
    if code is None or not isinstance(coordinates, list):
        raise _Declined
    out = bytearray()
    _write(out, code, coordinates)
    return bytes(out)


def _write(out: bytearray, code: int, coordinates: list[Any]) -> None:
    out += struct.pack("<BI", 1, code)
    if code == 1:
        out += _position(coordinates)
    elif code == 2:
        _points(out, coordinates, 2)
    elif code == 3:
        _rings(out, coordinates)
    else:
        if not coordinates:
            raise _Declined  # an empty multi-geometry
        out += struct.pack("<I", len(coordinates))
        for part in coordinates:
            if not isinstance(part, list):
                raise _Declined
            _write(out, code - 3, part)


def _rings(out: bytearray, rings: list[Any]) -> None:
    if not rings:
        raise _Declined  # an empty polygon
    out += struct.pack("<I", len(rings))
    for ring in rings:
        if not isinstance(ring, list) or len(ring) < 4 or ring[0] != ring[-1]:
            raise _Declined  # shapely closes (or refuses) such a ring
        _points(out, ring, 4)


def _points(out: bytearray, points: list[Any], least: int) -> None:
    if not isinstance(points, list) or len(points) < least:
        raise _Declined
    out += struct.pack("<I", len(points))
    for point in points:
        out += _position(point)


def _position(point: Any) -> bytes:
    if not isinstance(point, list) or len(point) != 2:
        raise _Declined  # empty, 3-D or not a position
    x, y = point
    if not all(type(v) in (int, float) for v in (x, y)):
        raise _Declined
    return struct.pack("<dd", float(x), float(y))
