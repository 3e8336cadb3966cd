"""Item search straight from a stac-geoparquet file: nothing of the site held in memory.

At start the file's footer is read (row-group statistics of the GeoParquet 1.1 ``bbox``
covering columns and of the datetimes). A server (:meth:`ParquetTable.keep`) then decodes the
few columns a search tests on every row once into NumPy arrays, while they fit in
:data:`CACHE_BYTES` (all files of the process together): the bboxes and time spans (48 bytes
an item, in a background thread), then each property column the first time a filter names
it; a one-off search reads only what it needs. A query reads only the row groups its bbox and
datetime can
touch (the build writes rows in space-time order: :func:`eotdl.catalog.geoparquet.spatial_keys`,
so each row group is a small box in longitude, latitude and time), tests them on those arrays
(or on the columns it reads from the file, when they are not kept), reads geometries only
for the rows whose bbox is partly in the query's, and reads the Items of the page last, from
the row groups that hold them (the last few read stay decoded: :data:`GROUP_CACHE_BYTES`).

Results are those of the in-memory engine over the same file: the same matches, in the same
order (file order within a collection, space-time as the build writes it, unless ``sortby``
says otherwise), so a page's Items sit in one or two row groups. What is kept is derived from
the file alone and only changes how fast an answer comes; files never change under a server
and a paging token is an offset, so any number of processes answer alike.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import math
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import shapely

from eotdl.api.columns import Column, make_column
from eotdl.api.evaluate import column_name, micros
from eotdl.api.table import NO_END, NO_START, ItemTable
from eotdl.catalog.parquet_items import rows_to_items
from eotdl.read.filters import bbox_geometry

if TYPE_CHECKING:
    from eotdl.api.search import SearchQuery

#: Time columns: an item's span runs from start_datetime (or datetime) to end_datetime.
_TIMES = ("datetime", "start_datetime", "end_datetime")
_BBOX = ("xmin", "ymin", "xmax", "ymax")
#: Decoded search columns kept by one process, all files together (bytes): the bbox and time
#: arrays of about ten million items, or those and a few property columns of a few million.
CACHE_BYTES = 512 * 2**20
#: Open handles on a file kept for the next query (each holds a file descriptor).
_IDLE_HANDLES = 2


def _stat_value(value: Any) -> float | None:
    """A statistics bound as a number (timestamps as microseconds); None when unusable."""
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return float(micros(aware))
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


class _Budget:
    """What is left of :data:`CACHE_BYTES` in this process (first come, first kept)."""

    def __init__(self) -> None:
        self.used = 0
        self._lock = threading.Lock()

    def take(self, size: int) -> bool:
        with self._lock:
            if self.used + size > CACHE_BYTES:
                return False
            self.used += size
            return True

    def give(self, size: int) -> None:
        with self._lock:
            self.used -= size


_BUDGET = _Budget()

#: Whole row groups last read for pages of Items, kept by one process (bytes, all files
#: together): a page asked again, or the first page of a query whose matches start in the
#: same row group, is not decoded again.
GROUP_CACHE_BYTES = 32 * 2**20
_GROUPS: OrderedDict[tuple[str, int], pa.Table] = OrderedDict()
_GROUPS_SIZE = [0]
_GROUPS_LOCK = threading.Lock()


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
        if sum(sizes) != self.metadata.num_rows:  # a footer patched wrong: nothing adds up
            raise pa.ArrowInvalid(
                f"its footer counts {self.metadata.num_rows:,} rows but its row groups hold"
                f" {sum(sizes):,}; build the site again (eotdl build --full)"
            )
        self.offsets = np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)]).astype(np.int64)
        self._low, self._high = self._ranges()
        #: Whole-file bbox arrays (xmin, ymin, xmax, ymax) and time spans (start, end), when
        #: :meth:`keep` was called and they fit in the budget: what every bbox and datetime
        #: query tests.
        self.boxes: tuple[np.ndarray, ...] | None = None
        self.spans: tuple[np.ndarray, np.ndarray] | None = None
        #: Whether columns are kept decoded (a server); a one-off search reads what it needs.
        self.keeping = False
        self._ready = threading.Event()
        self._ready.set()
        self._kept: dict[str, Column | None] = {}  # property columns decoded once
        self._lock = threading.Lock()
        self._idle: list[pq.ParquetFile] = []  # open handles no thread is using
        self._handles = threading.Lock()
        self._crossing = self._antimeridian_groups()
        self.row_of = _IdLookup(self)

    def keep(self, wait: bool = False) -> None:
        """Keep columns decoded from now on: the bboxes and time spans of the whole file,
        decoded in a background thread (searches wait for it; unless ``wait``, this returns
        at once, so a server answers other requests meanwhile), and each property column
        the first time a filter names it."""
        if self.keeping:
            return
        self.keeping = True
        self._ready.clear()
        if wait:
            self._keep_boxes_and_spans()
        else:
            name = f"keep {self.collection_id}"
            threading.Thread(target=self._keep_boxes_and_spans, name=name, daemon=True).start()

    def __len__(self) -> int:
        return int(self.offsets[-1])

    # -- statistics and kept columns --------------------------------------------------------

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

    def _keep_boxes_and_spans(self) -> None:
        """Decode the bbox and time columns of the whole file once, if the budget allows."""
        try:
            names = set(self.schema.names)
            if not names & {"bbox", *_TIMES} or not _BUDGET.take(48 * len(self)):
                return
            columns = [n for n in ("bbox", *_TIMES) if n in names]
            with self._file() as handle:
                table = handle.read(columns=columns, use_threads=False)
            self.boxes = _boxes(table)
            self.spans = _spans(table)
            if self.boxes is None:  # no usable bbox column: its share goes back
                _BUDGET.give(32 * len(self))
            if self.spans is None:  # times that are not timestamps: read per query
                _BUDGET.give(16 * len(self))
        except (OSError, pa.ArrowException):
            self.boxes = self.spans = None  # read per query, which reports the problem
        finally:
            self._ready.set()

    def kept(self, name: str) -> Column | None:
        """A property column of the whole file decoded once (None when it is not kept: not
        keeping, not a plain number, text, time or boolean column, or over the budget)."""
        if not self.keeping:
            return None
        with self._lock:
            if name in self._kept:
                return self._kept[name]
            column = None
            if name in self.schema.names and _keepable(self.schema.field(name).type):
                size = self._size(name)
                if _BUDGET.take(size):
                    with self._file() as handle:
                        arrow = handle.read(columns=[name], use_threads=False).column(name)
                    column = make_column(name, arrow)
            self._kept[name] = column
            return column

    def _size(self, name: str) -> int:
        """Bytes a column takes decoded (values, null mask and the Arrow copy)."""
        paths = [
            i
            for i in range(self.metadata.num_columns)
            if self.metadata.schema.column(i).path.split(".")[0] == name
        ]
        raw = sum(
            self.metadata.row_group(g).column(i).total_uncompressed_size
            for g in range(self.metadata.num_row_groups)
            for i in paths
        )
        return raw + 18 * len(self)

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
        maybe = maybe[self.offsets[maybe + 1] > self.offsets[maybe]]
        if len(maybe) == 0:
            return crossing
        with self._file() as handle:  # one read of the x bounds of those groups
            read = handle.read_row_groups(
                [int(g) for g in maybe], columns=["bbox.xmin", "bbox.xmax"], use_threads=False
            )
        box = read.column("bbox").combine_chunks()
        xmin = pc.fill_null(box.field("xmin"), -math.inf).to_numpy(zero_copy_only=False)
        xmax = pc.fill_null(box.field("xmax"), math.inf).to_numpy(zero_copy_only=False)
        sizes = self.offsets[maybe + 1] - self.offsets[maybe]
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        crossing[maybe] = np.logical_or.reduceat(xmin > xmax, starts)
        return crossing

    @contextlib.contextmanager
    def _file(self) -> Iterator[pq.ParquetFile]:
        """A handle on the file for one thread at a time: an idle one, else a new one (the
        footer is not parsed again, but a handle costs about 1 ms at 1M items); at most
        :data:`_IDLE_HANDLES` stay open between queries."""
        with self._handles:
            handle = self._idle.pop() if self._idle else None
        if handle is None:
            handle = pq.ParquetFile(self.path, metadata=self.metadata)
        try:
            yield handle
        finally:
            with self._handles:
                if len(self._idle) < _IDLE_HANDLES:
                    self._idle.append(handle)
                    handle = None
            if handle is not None:
                handle.close()

    def _row_groups(self, groups: Sequence[int]) -> dict[int, pa.Table]:
        """Whole row groups (every column), from the last read when they are there."""
        found: dict[int, pa.Table] = {}
        with _GROUPS_LOCK:
            for group in groups:
                if (self.path, group) in _GROUPS:
                    _GROUPS.move_to_end((self.path, group))
                    found[group] = _GROUPS[self.path, group]
        missing = [g for g in groups if g not in found]
        if missing:
            with self._file() as handle:
                for group in missing:
                    found[group] = handle.read_row_group(group, use_threads=False)
            with _GROUPS_LOCK:
                for group in missing:
                    _GROUPS[self.path, group] = found[group]
                    _GROUPS_SIZE[0] += found[group].nbytes
                while _GROUPS_SIZE[0] > GROUP_CACHE_BYTES and len(_GROUPS) > 1:
                    _, old = _GROUPS.popitem(last=False)
                    _GROUPS_SIZE[0] -= old.nbytes
        return found

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
        """The columns a query reads from the file (geometries are read later, and only for
        the rows that need them; kept columns are not read)."""
        names = set(self.schema.names)
        wanted = ["id"] if query.ids is not None else []
        if query.interval is not None and self.spans is None:
            wanted += _TIMES
        spatial = query.bbox is not None or query.intersects is not None
        if spatial or (query.filter is not None and _uses(query.filter, "s_intersects")):
            if self.boxes is None:
                wanted += ["bbox"] if "bbox" in names else ["geometry"]
        if query.filter is not None:
            wanted += [
                column_name(p)
                for p in _properties(query.filter)
                if self.kept(column_name(p)) is None
            ]
        wanted += [column_name(f) for f, _ in query.sortby]
        return list(dict.fromkeys(n for n in wanted if n in names))

    def read(self, query: SearchQuery) -> Slice:
        """The rows of the row groups the query can touch, with the columns it needs."""
        self._ready.wait()
        groups = self._groups(query)
        columns = self._columns(query)
        rows: np.ndarray | None = None  # every row of the file
        if len(groups) == 0:
            table = self.schema.empty_table().select(columns)
            rows = np.zeros(0, np.int64)
        else:
            if columns:
                with self._file() as handle:
                    table = handle.read_row_groups(
                        [int(g) for g in groups], columns=columns, use_threads=False
                    )
            else:
                table = pa.table({})  # everything the query tests is kept
            if len(groups) < self.metadata.num_row_groups:
                sizes = self.offsets[groups + 1] - self.offsets[groups]
                firsts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
                rows = np.repeat(self.offsets[groups] - firsts, sizes) + np.arange(
                    int(sizes.sum()), dtype=np.int64
                )
        if query.ids is not None and table.num_rows:
            keep = pc.is_in(table.column("id"), value_set=pa.array(query.ids, pa.string()))
            positions = np.flatnonzero(np.asarray(keep.to_numpy(zero_copy_only=False), bool))
            table = table.take(pa.array(positions, pa.int64()))
            rows = positions if rows is None else rows[positions]
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
        """The Items at these file rows, in this order: only their row groups are read (or
        found among the last read)."""
        wanted = np.asarray(list(rows), dtype=np.int64)
        if len(wanted) == 0:
            return []
        groups = np.searchsorted(self.offsets, wanted, side="right") - 1
        out: list[dict[str, Any]] = [{} for _ in wanted]
        tables = self._row_groups([int(g) for g in np.unique(groups)])
        for group in np.unique(groups):
            here = np.flatnonzero(groups == group)
            local = wanted[here] - self.offsets[group]
            table = tables[int(group)].take(pa.array(local, pa.int64()))
            for position, item in zip(here, rows_to_items(table), strict=True):
                out[position] = item
        return out

    def geometries(self, rows: np.ndarray) -> np.ndarray:
        """The geometries (shapely) at these file rows: only their row groups' geometry
        column is read, and only these rows are parsed."""
        out = np.full(len(rows), None, dtype=object)
        if len(rows) == 0 or "geometry" not in self.schema.names:
            return out
        groups = np.searchsorted(self.offsets, rows, side="right") - 1
        chosen = np.unique(groups)
        with self._file() as handle:
            read = handle.read_row_groups(
                [int(g) for g in chosen], columns=["geometry"], use_threads=False
            )
        column = read.column("geometry").combine_chunks()
        if isinstance(column.type, pa.ExtensionType):
            column = column.storage
        sizes = self.offsets[chosen + 1] - self.offsets[chosen]
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        where = starts[np.searchsorted(chosen, groups)] + rows - self.offsets[groups]
        wkb = column.take(pa.array(where, pa.int64())).to_numpy(zero_copy_only=False)
        return np.asarray(shapely.from_wkb(wkb, on_invalid="ignore"), dtype=object)

    def find(self, item_id: str) -> int | None:
        """The file row of an item (the id column is read; the first row when repeated)."""
        with self._file() as handle:
            for g in range(self.metadata.num_row_groups):
                ids = handle.read_row_group(g, columns=["id"], use_threads=False).column("id")
                hits = pc.index(ids, pa.scalar(item_id, pa.string())).as_py()
                if hits is not None and hits >= 0:
                    return int(self.offsets[g] + hits)
        return None


def _keepable(kind: pa.DataType) -> bool:
    """Types a filter tests on NumPy arrays (:func:`eotdl.api.columns.make_column`)."""
    return bool(
        pa.types.is_integer(kind)
        or pa.types.is_floating(kind)
        or pa.types.is_timestamp(kind)
        or pa.types.is_boolean(kind)
        or pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
    )


class Slice(ItemTable):
    """Some rows of a :class:`ParquetTable` with some columns, for the columnar evaluator;
    the bbox, time and property arrays come from what the file keeps decoded when it does,
    geometries and Items are read from the file when asked for."""

    def __init__(self, source: ParquetTable, table: pa.Table, rows: np.ndarray | None) -> None:
        # not ItemTable.__init__: no id index (ids are matched while reading)
        self.collection_id = source.collection_id
        self.table = table.combine_chunks()
        self.base = source.base
        self.source = source
        #: The file rows of this slice; None: every row of the file, in order (kept arrays
        #: are then used as they are).
        self.file_rows = rows
        self.whole = rows is None
        self.n = len(source) if rows is None else len(rows)
        self.row_of: dict[str, int] = {}
        self._geometries: np.ndarray | None = None
        self._columns: dict[str, Column | None] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self.n

    @property
    def rows(self) -> np.ndarray:
        """The file rows of this slice as an array."""
        if self.file_rows is None:
            return np.arange(self.n, dtype=np.int64)
        return self.file_rows

    def _at(self, positions: np.ndarray) -> np.ndarray:
        """File rows at these positions of the slice."""
        return positions if self.file_rows is None else self.file_rows[positions]

    def __getattr__(self, name: str) -> Any:
        """The bbox and time arrays, made on first use (a query may need neither)."""
        if name in ("xmin", "ymin", "xmax", "ymax"):
            boxes = self.source.boxes
            arrays: tuple[np.ndarray, ...] | None
            if boxes is not None:
                arrays = boxes if self.whole else tuple(b[self.rows] for b in boxes)
            else:
                arrays = _boxes(self.table)
            if arrays is None and self.table.num_rows == self.n:
                arrays = self._bbox_arrays()  # from the geometries
            elif arrays is None:  # neither bbox nor geometry in the file
                arrays = tuple(np.full(self.n, np.nan) for _ in _BBOX)
            self.xmin, self.ymin, self.xmax, self.ymax = arrays
        elif name in ("start", "end"):
            spans = self.source.spans
            if spans is None:
                self.start, self.end = self._time_arrays()
            else:
                self.start, self.end = spans if self.whole else (s[self.rows] for s in spans)
        else:
            raise AttributeError(name)
        return self.__dict__[name]

    def column(self, name: str) -> Column | None:
        """A property column of these rows: from the file's kept columns when it is kept."""
        kept = self.source.kept(name) if name not in self.table.column_names else None
        if kept is None:
            return super().column(name)
        with self._lock:
            if name not in self._columns:
                self._columns[name] = kept if self.whole else kept.take(self.rows)
            return self._columns[name]

    def arrow_column(self, name: str) -> pa.Array | None:
        """A property column of these rows as Arrow (for the evaluator's pyarrow fallback)."""
        if name in self.table.column_names:
            return self.table.column(name).combine_chunks()
        kept = self.source.kept(name)
        if kept is None:
            return None
        return kept.arrow if self.whole else kept.arrow.take(pa.array(self.rows, pa.int64()))

    def geometries_at(self, positions: np.ndarray) -> np.ndarray:
        return self.source.geometries(self._at(positions))

    def items(self, rows: Any) -> list[dict[str, Any]]:
        return self.source.items(self._at(np.asarray(list(rows), dtype=np.int64)))

    def _time_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        return _spans(self.table) or super()._time_arrays()


def _boxes(table: pa.Table) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """The bbox columns as float64 arrays (NaN where null); None without a bbox struct."""
    if "bbox" not in table.column_names:
        return None
    column = table.column("bbox").combine_chunks()
    if not pa.types.is_struct(column.type):
        return None
    fields = {column.type.field(i).name for i in range(column.type.num_fields)}
    if not set(_BBOX) <= fields:
        return None
    return tuple(  # type: ignore[return-value]
        np.asarray(
            pc.fill_null(column.field(f), float("nan")).to_numpy(zero_copy_only=False),
            dtype="float64",
        )
        for f in _BBOX
    )


def _spans(table: pa.Table) -> tuple[np.ndarray, np.ndarray] | None:
    """As :meth:`ItemTable._time_arrays`, straight from int64 microseconds (None when a time
    column is not a timestamp)."""
    found = {}
    for name in _TIMES:
        if name not in table.column_names:
            continue
        column = table.column(name)
        if not pa.types.is_timestamp(column.type):
            return None
        if column.type.unit != "us":
            column = column.cast(pa.timestamp("us", tz=column.type.tz))
        ints = pc.fill_null(column.cast(pa.int64()), 0)
        valid = np.asarray(column.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        found[name] = (np.asarray(ints.to_numpy(zero_copy_only=False), np.int64), valid)
    n = table.num_rows
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
