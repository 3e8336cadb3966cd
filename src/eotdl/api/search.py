"""Item search over stac-geoparquet tables: no database, no DuckDB.

A :class:`SearchQuery` (collections, ids, bbox, intersects, datetime, a CQL2 filter, sortby,
limit and offset) is evaluated column-wise: numpy on the pre-computed bbox and time arrays,
pyarrow compute for property filters, shapely only on the few candidates a bbox pre-filter
leaves. The same engine answers ``eotdl search`` and ``eotdl serve``, over tables in memory
or over the row groups :mod:`.parquet_engine` reads from a file for each query.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from eotdl.api.cql2 import GEOMETRY_ERRORS, parse_filter
from eotdl.api.evaluate import Evaluator, bbox_mask, column_name, micros, spatial_mask
from eotdl.api.table import ItemTable
from eotdl.errors import InputError
from eotdl.read.filters import (
    BBox,
    Interval,
    parse_bbox,
    parse_interval,
)

DEFAULT_LIMIT = 10
MAX_LIMIT = 10_000
#: Item fields that are not properties (``properties.x`` and ``x`` name the same column).
TOP_LEVEL = {"id", "collection", "geometry", "bbox"}


@dataclass
class SearchQuery:
    """What to find, and which page of it."""

    collections: list[str] | None = None
    ids: list[str] | None = None
    bbox: BBox | None = None
    intersects: BaseGeometry | None = None
    interval: Interval | None = None
    filter: dict[str, Any] | None = None
    sortby: list[tuple[str, bool]] = field(default_factory=list)  # (field, descending)
    limit: int = DEFAULT_LIMIT
    offset: int = 0


@dataclass
class SearchResult:
    """How many Items matched, and the page asked for as (table, row) pairs."""

    matched: int
    rows: list[tuple[ItemTable, int]]

    def items(self) -> list[dict[str, Any]]:
        """The page's Items as dicts, in order."""
        out: list[dict[str, Any]] = []
        start = 0
        while start < len(self.rows):
            table = self.rows[start][0]
            end = start
            while end < len(self.rows) and self.rows[end][0] is table:
                end += 1
            out += table.items(row for _, row in self.rows[start:end])
            start = end
        return out


# -- parsing queries ------------------------------------------------------------------------


def _split_list(value: Any, what: str) -> list[str]:
    if isinstance(value, str):
        parts = value.split(",")
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        parts = value
    else:
        raise InputError(f"{what} must be a list of strings or a comma-separated string")
    return [p.strip() for p in parts if p.strip()]


def _limit(value: Any) -> int:
    try:
        limit = int(value)
    except (TypeError, ValueError):
        raise InputError(f"limit {value!r} is not an integer") from None
    if isinstance(value, float | bool) or limit < 1:
        raise InputError(f"limit {value!r} must be a positive integer")
    return min(limit, MAX_LIMIT)


def _offset(token: Any) -> int:
    try:
        offset = int(str(token).removeprefix("next:"))
    except ValueError:
        raise InputError(f"invalid paging token {token!r}", hint="follow the 'next' link") from None
    if offset < 0:
        raise InputError(f"invalid paging token {token!r}", hint="follow the 'next' link")
    return offset


def parse_sortby(value: Any) -> list[tuple[str, bool]]:
    """``+a,-b`` (GET) or ``[{"field": "a", "direction": "desc"}]`` (POST)."""
    if isinstance(value, str):
        out = []
        for part in (p.strip() for p in value.split(",")):
            if not part:
                continue
            descending = part.startswith("-")
            out.append((part.lstrip("+- "), descending))
        return out
    if isinstance(value, list):
        out = []
        for entry in value:
            if not isinstance(entry, dict) or not isinstance(entry.get("field"), str):
                raise InputError('sortby entries must be {"field": …, "direction": "asc"|"desc"}')
            direction = str(entry.get("direction", "asc")).lower()
            if direction not in ("asc", "desc"):
                raise InputError(f"sortby direction {direction!r} must be asc or desc")
            out.append((entry["field"], direction == "desc"))
        return out
    raise InputError("sortby must be a string like '-datetime,+id' or a list of objects")


_GEOMETRY_TYPES = {
    "Point",
    "MultiPoint",
    "LineString",
    "MultiLineString",
    "Polygon",
    "MultiPolygon",
    "GeometryCollection",
}


def _geometry(value: Any) -> BaseGeometry:
    if isinstance(value, str):
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError as exc:
            raise InputError(f"intersects is not valid GeoJSON: {exc}") from None
    if isinstance(value, dict) and value.get("type") == "Feature":
        value = value.get("geometry")
    if (
        not isinstance(value, dict)
        or value.get("type") not in _GEOMETRY_TYPES
        or ("coordinates" not in value and "geometries" not in value)
    ):
        raise InputError(
            "intersects must be a GeoJSON geometry",
            hint='e.g. {"type": "Point", "coordinates": [10.5, 45.1]}',
        )
    try:
        geometry = shape(value)
    except GEOMETRY_ERRORS as exc:
        raise InputError(f"intersects is not a valid {value['type']}: {exc}") from None
    if geometry.is_empty:
        raise InputError("intersects is an empty geometry")
    return geometry


def _bbox(value: Any, method: str) -> BBox:
    if method == "POST" and not (
        isinstance(value, list) and all(isinstance(v, int | float) for v in value)
    ):
        raise InputError(
            f"bbox {value!r} must be a JSON array of numbers in a POST body",
            hint="send [minx, miny, maxx, maxy]",
        )
    if not isinstance(value, str | list):
        raise InputError(f"bbox {value!r} is not a list of numbers", hint="minx,miny,maxx,maxy")
    return parse_bbox(value)


def parse_query(params: Mapping[str, Any], method: str = "GET", strict: bool = True) -> SearchQuery:
    """A query from STAC API parameters (GET query strings, or a POST JSON body).

    ``strict``: datetimes must be RFC 3339 (the STAC API); the CLI also takes plain dates.
    """
    query = SearchQuery()
    if params.get("collections") is not None:
        query.collections = _split_list(params["collections"], "collections")
    if params.get("ids") is not None:
        query.ids = _split_list(params["ids"], "ids")
    if params.get("bbox") is not None:
        query.bbox = _bbox(params["bbox"], method)
    if params.get("intersects") is not None:
        query.intersects = _geometry(params["intersects"])
    if query.bbox is not None and query.intersects is not None:
        raise InputError("bbox and intersects cannot be used together")
    if params.get("datetime") is not None:
        if not isinstance(params["datetime"], str):
            raise InputError("datetime must be a string: A, A/B, ../B or A/..")
        query.interval = parse_interval(params["datetime"], strict=strict)
    if params.get("filter") not in (None, ""):
        lang = params.get("filter-lang") or params.get("filter_lang")
        if lang is None and method == "GET" and isinstance(params["filter"], str):
            lang = "cql2-json" if params["filter"].lstrip().startswith("{") else "cql2-text"
        crs = params.get("filter-crs")
        if crs not in (None, "http://www.opengis.net/def/crs/OGC/1.3/CRS84"):
            raise InputError(f"filter-crs {crs!r} is not supported", hint="use CRS84 (lon/lat)")
        query.filter = parse_filter(params["filter"], lang)
    if params.get("query") is not None:
        raise InputError(
            "the query extension is not supported", hint="use filter (CQL2-JSON or CQL2-text)"
        )
    if params.get("sortby") not in (None, ""):
        query.sortby = parse_sortby(params["sortby"])
    if params.get("limit") is not None:
        query.limit = _limit(params["limit"])
    if params.get("token") not in (None, ""):
        query.offset = _offset(params["token"])
    return query


# -- evaluation -----------------------------------------------------------------------------


def _micros(moment: dt.datetime | None, default: int) -> int:
    return default if moment is None else micros(moment)


def match_rows(table: ItemTable, query: SearchQuery) -> np.ndarray:
    """The rows of ``table`` matching ``query`` (ignoring collections and paging), in order.

    Cheap tests first (ids, time, bbox on the pre-computed arrays); the filter then runs on
    the rows left when they are few, on whole columns otherwise.
    """
    n = len(table)
    if query.ids is not None:
        rows = sorted({table.row_of[i] for i in query.ids if i in table.row_of})
        mask = np.zeros(n, dtype=bool)
        mask[rows] = True
    else:
        mask = np.ones(n, dtype=bool)
    if query.interval is not None:
        low = _micros(query.interval[0], np.iinfo(np.int64).min)
        high = _micros(query.interval[1], np.iinfo(np.int64).max)
        mask &= (table.start <= high) & (table.end >= low)
    for spatial in (query.bbox, query.intersects):
        if spatial is None:
            continue
        every = bool(mask.all())
        candidates = None if every else np.flatnonzero(mask)
        if candidates is not None and len(candidates) == 0:
            break
        if isinstance(spatial, tuple):
            hits = bbox_mask(table, spatial, candidates)
        else:
            hits = spatial_mask(table, spatial, candidates)
        if candidates is None:
            mask = hits
        else:
            mask[candidates[~hits]] = False
    if query.filter is not None:
        if n and mask.all():  # nothing ruled out yet: the filter runs on whole columns
            return np.flatnonzero(Evaluator(table).truth(query.filter).true)
        candidates = np.flatnonzero(mask)
        if len(candidates) == 0:
            return candidates
        if len(candidates) < n // 2:
            truth = Evaluator(table, candidates).truth(query.filter)
            return candidates[truth.true]
        mask &= Evaluator(table).truth(query.filter).true
    return np.flatnonzero(mask)


class Searchable(Protocol):
    """A collection searched in place (:class:`eotdl.api.parquet_engine.ParquetTable`)."""

    collection_id: str

    def match(self, query: SearchQuery, stop: int, ordered: bool) -> tuple[ItemTable, np.ndarray]:
        """(a table, its matching rows): all matches, the first ``stop`` in default order,
        or all of them when ``ordered``."""
        ...


class ItemIndex:
    """Searchable Items of several collections, in a fixed order: in-memory tables, or
    parquet files searched in place (:mod:`eotdl.api.parquet_engine`)."""

    def __init__(self, tables: Iterable[ItemTable | Searchable]) -> None:
        self.tables = {t.collection_id: t for t in tables}

    def table(self, collection_id: str) -> ItemTable | Searchable | None:
        return self.tables.get(collection_id)

    def search(self, query: SearchQuery) -> SearchResult:
        """Every match counted; the page ``offset:offset+limit`` returned."""
        chosen = self._chosen(query.collections)
        stop = query.offset + query.limit
        matches = [
            (t, match_rows(t, query))
            if isinstance(t, ItemTable)
            else t.match(query, stop, bool(query.sortby))
            for t in chosen
        ]
        matched = sum(len(rows) for _, rows in matches)
        start, stop = query.offset, query.offset + query.limit
        if query.sortby:
            return SearchResult(matched, _sorted_page(matches, query.sortby, start, stop))
        page: list[tuple[ItemTable, int]] = []
        seen = 0
        for table, rows in matches:
            if seen + len(rows) > start and seen < stop:
                low = max(0, start - seen)
                high = min(len(rows), stop - seen)
                page += [(table, int(r)) for r in rows[low:high]]
            seen += len(rows)
        return SearchResult(matched, page)

    def _chosen(self, collections: Sequence[str] | None) -> list[ItemTable | Searchable]:
        if collections is None:
            return list(self.tables.values())
        wanted = set(collections)
        return [table for name, table in self.tables.items() if name in wanted]


def _sort_column(table: ItemTable, name: str, rows: np.ndarray) -> pa.Array:
    column = column_name(name)
    if column not in table.table.column_names:
        return pa.nulls(len(rows))
    values = table.table.column(column).take(pa.array(rows, pa.int64()))
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def _sorted_page(
    matches: list[tuple[ItemTable, np.ndarray]],
    sortby: list[tuple[str, bool]],
    start: int,
    stop: int,
) -> list[tuple[ItemTable, int]]:
    known = {column_name(f) for t, _ in matches for f in t.table.column_names}
    for name, _ in sortby:
        if column_name(name) not in known and matches and any(len(r) for _, r in matches):
            raise InputError(f"cannot sort by {name!r}: no item has it")
    keys: dict[str, pa.Array] = {}
    for index, (name, _) in enumerate(sortby):
        parts = [_sort_column(t, name, rows) for t, rows in matches]
        parts = _common_type(name, parts)
        keys[f"k{index}"] = pa.concat_arrays(parts) if parts else pa.array([])
    empty = np.zeros(0, np.int64)
    which = np.concatenate([np.full(len(r), i) for i, (_, r) in enumerate(matches)] or [empty])
    rows = np.concatenate([r for _, r in matches] or [empty]).astype(np.int64)
    keys["which"] = pa.array(which.astype(np.int64))
    keys["row"] = pa.array(rows)
    order = [
        (f"k{i}", "descending" if desc else "ascending", "at_end")
        for i, (_, desc) in enumerate(sortby)
    ]
    order += [("which", "ascending", "at_end"), ("row", "ascending", "at_end")]
    try:
        indices = pc.sort_indices(pa.table(keys), sort_keys=order)
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise InputError(f"cannot sort by {', '.join(n for n, _ in sortby)}: {exc}") from None
    chosen = indices.to_numpy()[start:stop]
    return [(matches[int(which[i])][0], int(rows[i])) for i in chosen]


def _common_type(name: str, parts: list[pa.Array]) -> list[pa.Array]:
    """Cast the parts of a sort key to one type (nulls take any)."""
    kinds = {p.type for p in parts if not pa.types.is_null(p.type)}
    if not kinds:
        return parts
    if len(kinds) > 1:
        numeric = all(pa.types.is_integer(k) or pa.types.is_floating(k) for k in kinds)
        if not numeric:
            raise InputError(f"cannot sort by {name!r}: it has different types in different items")
        target: pa.DataType = pa.float64()
    else:
        target = next(iter(kinds))
    return [p.cast(target) if p.type != target else p for p in parts]
