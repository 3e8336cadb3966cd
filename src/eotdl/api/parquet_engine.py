"""Item search straight from a stac-geoparquet file: nothing of the site held in memory.

At start only the file's footer is read (row-group statistics of the GeoParquet 1.1 ``bbox``
covering columns and of the datetimes) plus one pass over the bbox columns to find the row
groups holding items that cross the antimeridian. A query then reads only the row groups its
bbox and datetime interval can touch, and only the columns it needs (id, bbox, times, and
the geometry, filter and sort columns when asked); the columnar evaluator of
:mod:`.search` and :mod:`.evaluate` runs on those rows. The Items of a page are read last,
from the row groups that hold them.

Results are those of the in-memory engine over the same file: the same matches, in the same
order (file order within a collection, space then time as the build writes it, unless
``sortby`` says otherwise), so a page's Items sit in one or two row groups. Files never change
under a server and a paging token is an offset, so any number of processes answer alike.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import threading
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from eotdl.api.columns import Column
from eotdl.api.evaluate import column_name, micros
from eotdl.api.table import NO_END, NO_START, ItemTable
from eotdl.catalog.parquet_items import rows_to_items
from eotdl.read.filters import bbox_geometry

if TYPE_CHECKING:
    from eotdl.api.search import SearchQuery

#: Time columns: an item's span runs from start_datetime (or datetime) to end_datetime.
_TIMES = ("datetime", "start_datetime", "end_datetime")
_BBOX = ("xmin", "ymin", "xmax", "ymax")
#: Rows decoded at a time when a page's Items are read (a row group is read only so far).
_BATCH = 128


def _stat_value(value: Any) -> float | None:
    """A statistics bound as a number (timestamps as microseconds); None when unusable."""
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return float(micros(aware))
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


class ParquetTable:
    """One collection's ``items.parquet``, searched in place.

    Offers what the API reads of an :class:`~eotdl.api.table.ItemTable` (``collection_id``,
    ``base``, ``len``, ``table`` for the schema, ``row_of``, ``items``) and :meth:`match`.
    """

    def __init__(self, collection_id: str, path: str, base: str = "") -> None:
        self.collection_id = collection_id
        self.path = path
        #: Where relative asset hrefs in the file are resolved from.
        self.base = base
        self.metadata = pq.read_metadata(path)
        self.schema = self.metadata.schema.to_arrow_schema()
        #: The schema as an empty table (what queryables and sort checks read).
        self.table = self.schema.empty_table()
        groups = self.metadata.num_row_groups
        sizes = [self.metadata.row_group(i).num_rows for i in range(groups)]
        self.offsets = np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)]).astype(np.int64)
        self._low, self._high = self._ranges()
        self._crossing = self._antimeridian_groups()
        self.row_of = _IdLookup(self)

    def __len__(self) -> int:
        return int(self.offsets[-1])

    # -- statistics -------------------------------------------------------------------------

    def _ranges(self) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Per row group, the smallest and largest value of the bbox and time columns
        (NaN where unknown, ±inf where every value is null)."""
        paths = {self.metadata.schema.column(i).path: i for i in range(self.metadata.num_columns)}
        wanted = {f"bbox.{n}": f"bbox.{n}" for n in _BBOX} | {n: n for n in _TIMES}
        groups = self.metadata.num_row_groups
        low: dict[str, np.ndarray] = {}
        high: dict[str, np.ndarray] = {}
        for name, path in wanted.items():
            if path not in paths:
                continue
            lows = np.full(groups, np.nan)
            highs = np.full(groups, np.nan)
            for g in range(groups):
                chunk = self.metadata.row_group(g).column(paths[path])
                stats = chunk.statistics
                rows = self.metadata.row_group(g).num_rows
                if stats is None:
                    continue
                if stats.has_null_count and stats.null_count == rows:
                    lows[g], highs[g] = math.inf, -math.inf
                    continue
                if not stats.has_min_max:
                    continue
                a, b = _stat_value(stats.min), _stat_value(stats.max)
                if a is not None and b is not None and not (math.isnan(a) or math.isnan(b)):
                    lows[g], highs[g] = a, b
            low[name], high[name] = lows, highs
        return low, high

    def _antimeridian_groups(self) -> np.ndarray:
        """Which row groups hold an item whose bbox crosses the antimeridian (xmin > xmax)."""
        groups = self.metadata.num_row_groups
        crossing = np.zeros(groups, dtype=bool)
        low, high = self._low.get("bbox.xmin"), self._high.get("bbox.xmax")
        if low is None or high is None:
            return crossing
        # a group can only hold one if its largest xmin exceeds its smallest xmax
        maybe = np.flatnonzero(
            ~(self._high["bbox.xmin"] <= self._low["bbox.xmax"]) & ~np.isinf(self._low["bbox.xmin"])
        )
        handle = self._file()
        for g in maybe:
            box = handle.read_row_group(int(g), columns=["bbox"]).column("bbox").combine_chunks()
            xmin = pc.fill_null(box.field("xmin"), -math.inf).to_numpy(zero_copy_only=False)
            xmax = pc.fill_null(box.field("xmax"), math.inf).to_numpy(zero_copy_only=False)
            crossing[g] = bool(np.any(xmin > xmax))
        return crossing

    def _file(self) -> pq.ParquetFile:
        """A fresh handle (the footer is not parsed again): one per query, so threads share
        nothing mutable."""
        return pq.ParquetFile(self.path, metadata=self.metadata)

    # -- pruning ----------------------------------------------------------------------------

    def _groups(self, query: SearchQuery) -> np.ndarray:
        """The row groups that can hold a match of the query's datetime and bbox."""
        keep = np.ones(self.metadata.num_row_groups, dtype=bool)
        if query.interval is not None:
            keep &= self._time_groups(query.interval)
        bounds = None
        if query.bbox is not None:
            bounds = bbox_geometry(query.bbox).bounds
        elif query.intersects is not None:
            bounds = query.intersects.bounds
        if bounds is not None and all(f"bbox.{n}" in self._low for n in _BBOX):
            minx, miny, maxx, maxy = bounds
            # an item across the antimeridian is tested on its geometry whatever its x: only
            # y rules out a group holding one
            away_x = (self._low["bbox.xmin"] > maxx) | (self._high["bbox.xmax"] < minx)
            away_y = (self._low["bbox.ymin"] > maxy) | (self._high["bbox.ymax"] < miny)
            keep &= ~((away_x & ~self._crossing) | away_y)
        return np.flatnonzero(keep)

    def _time_groups(self, interval: tuple[dt.datetime | None, dt.datetime | None]) -> np.ndarray:
        groups = self.metadata.num_row_groups
        if "datetime" not in self._low and "start_datetime" not in self._low:
            return np.zeros(groups, dtype=bool)  # no item has a time: none can match
        starts = [self._low[n] for n in ("datetime", "start_datetime") if n in self._low]
        ends = [self._high[n] for n in ("datetime", "end_datetime") if n in self._high]
        first = np.full(groups, math.inf)
        for values in starts:
            first = np.where(np.isnan(values) | np.isnan(first), np.nan, np.fmin(first, values))
        last = np.full(groups, -math.inf)
        for values in ends:
            last = np.where(np.isnan(values) | np.isnan(last), np.nan, np.fmax(last, values))
        keep = np.ones(groups, dtype=bool)
        low, high = interval
        if high is not None:
            keep &= ~(first > micros(high))  # NaN (unknown) keeps the group
        if low is not None:
            keep &= ~(last < micros(low))
        return keep

    # -- searching --------------------------------------------------------------------------

    def _columns(self, query: SearchQuery) -> list[str]:
        names = set(self.schema.names)
        wanted = ["id"] if query.ids is not None else []
        if query.interval is not None:
            wanted += _TIMES
        spatial = query.bbox is not None or query.intersects is not None
        if spatial or (query.filter is not None and _uses(query.filter, "s_intersects")):
            wanted += ["bbox", "geometry"]
        if query.filter is not None:
            wanted += [column_name(p) for p in _properties(query.filter)]
        wanted += [column_name(f) for f, _ in query.sortby]
        return list(dict.fromkeys(n for n in wanted if n in names))

    def read(self, query: SearchQuery) -> Slice:
        """The rows of the row groups the query can touch, with the columns it needs."""
        groups = self._groups(query)
        columns = self._columns(query)
        if len(groups) == 0:
            table = self.schema.empty_table().select(columns)
            rows = np.zeros(0, np.int64)
        else:
            table = self._file().read_row_groups([int(g) for g in groups], columns=columns)
            sizes = self.offsets[groups + 1] - self.offsets[groups]
            firsts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
            rows = np.repeat(self.offsets[groups] - firsts, sizes) + np.arange(
                int(sizes.sum()), dtype=np.int64
            )
        if query.ids is not None and table.num_rows:
            keep = pc.is_in(table.column("id"), value_set=pa.array(query.ids, pa.string()))
            positions = np.flatnonzero(np.asarray(keep.to_numpy(zero_copy_only=False), bool))
            table = table.take(pa.array(positions, pa.int64()))
            rows = rows[positions]
        return Slice(self, table, rows)

    def match(self, query: SearchQuery, stop: int, ordered: bool) -> tuple[ItemTable, np.ndarray]:
        """(a table, its matching rows in file order): the in-memory engine's answer over
        the same file (``stop`` and ``ordered`` are not needed: rows are read in order)."""
        from eotdl.api.search import match_rows

        part = self.read(query)
        if len(part) == 0:
            return part, np.zeros(0, np.int64)
        return part, match_rows(part, _without_ids(query))

    def items(self, rows: Sequence[int] | np.ndarray) -> list[dict[str, Any]]:
        """The Items at these file rows, in this order: only their row groups are read, each
        only as far as the last row wanted (a batch of :data:`_BATCH` rows at a time)."""
        wanted = np.asarray(list(rows), dtype=np.int64)
        if len(wanted) == 0:
            return []
        groups = np.searchsorted(self.offsets, wanted, side="right") - 1
        local = wanted - self.offsets[groups]
        handle = self._file()
        batches: list[pa.RecordBatch] = []
        start_of: dict[int, int] = {}
        position = 0
        for group in np.unique(groups):
            last = int(local[groups == group].max())
            start_of[int(group)] = position
            for batch in handle.iter_batches(batch_size=_BATCH, row_groups=[int(group)]):
                batches.append(batch)
                position += batch.num_rows
                if position - start_of[int(group)] > last:
                    break
        table = pa.Table.from_batches(batches)
        where = np.array([start_of[int(g)] for g in groups], dtype=np.int64) + local
        return rows_to_items(table.take(pa.array(where, pa.int64())))

    def find(self, item_id: str) -> int | None:
        """The file row of an item (the id column is read; the first row when repeated)."""
        handle = self._file()
        for g in range(self.metadata.num_row_groups):
            ids = handle.read_row_group(g, columns=["id"]).column("id")
            hits = pc.index(ids, pa.scalar(item_id, pa.string())).as_py()
            if hits is not None and hits >= 0:
                return int(self.offsets[g] + hits)
        return None


class Slice(ItemTable):
    """Some rows of a :class:`ParquetTable` with some columns, for the columnar evaluator;
    ``items`` reads the whole Items from the file."""

    def __init__(self, source: ParquetTable, table: pa.Table, rows: np.ndarray) -> None:
        # not ItemTable.__init__: no id index (ids are matched while reading)
        self.collection_id = source.collection_id
        self.table = table.combine_chunks()
        self.base = source.base
        self.source = source
        self.rows = rows
        self.row_of: dict[str, int] = {}
        self._geometries: np.ndarray | None = None
        self._columns: dict[str, Column | None] = {}
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        """The bbox and time arrays, made on first use (a query may need neither)."""
        if name in ("xmin", "ymin", "xmax", "ymax"):
            self.xmin, self.ymin, self.xmax, self.ymax = self._bbox_arrays()
        elif name in ("start", "end"):
            self.start, self.end = self._time_arrays()
        else:
            raise AttributeError(name)
        return self.__dict__[name]

    def items(self, rows: Any) -> list[dict[str, Any]]:
        return self.source.items(self.rows[np.asarray(list(rows), dtype=np.int64)])

    def _time_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """As :meth:`ItemTable._time_arrays`, straight from int64 microseconds."""
        found = {}
        for name in _TIMES:
            if name not in self.table.column_names:
                continue
            column = self.table.column(name)
            if not pa.types.is_timestamp(column.type):
                return super()._time_arrays()
            if column.type.unit != "us":
                column = column.cast(pa.timestamp("us", tz=column.type.tz))
            ints = pc.fill_null(column.cast(pa.int64()), 0)
            valid = np.asarray(column.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
            found[name] = (np.asarray(ints.to_numpy(zero_copy_only=False), np.int64), valid)
        n = self.table.num_rows
        none = (np.zeros(n, np.int64), np.zeros(n, dtype=bool))
        instant, has_instant = found.get("datetime", none)
        first, has_first = found.get("start_datetime", none)
        last, has_last = found.get("end_datetime", none)
        start = np.where(has_first, first, np.where(has_instant, instant, NO_START))
        end = np.where(has_last, last, np.where(has_instant, instant, NO_END))
        return start.astype(np.int64), end.astype(np.int64)


class _IdLookup:
    """``row_of`` of a :class:`ParquetTable`: ``get`` finds an id's row in the file."""

    def __init__(self, table: ParquetTable) -> None:
        self._table = table
        self._find = functools.lru_cache(maxsize=1024)(table.find)

    def get(self, item_id: str, default: int | None = None) -> int | None:
        row = self._find(str(item_id))
        return default if row is None else row

    def __contains__(self, item_id: object) -> bool:
        return isinstance(item_id, str) and self.get(item_id) is not None


def _without_ids(query: SearchQuery) -> SearchQuery:
    from dataclasses import replace

    return replace(query, ids=None) if query.ids is not None else query


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _properties(node: Any) -> list[str]:
    return [n["property"] for n in _walk(node) if isinstance(n.get("property"), str)]


def _uses(node: Any, op: str) -> bool:
    return any(n.get("op") == op for n in _walk(node))
