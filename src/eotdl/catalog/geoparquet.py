"""Items as stac-geoparquet: one ``items.parquet`` per dataset version, for search and bulk loads.

Written with stac-geoparquet (GeoParquet 1.1 metadata, one row per Item, properties as columns)
in chunks, so memory stays bounded whatever the number of items. A build that changed a few
items patches the previous file (read it with pyarrow, drop the changed rows, append the new
ones, sort) instead of converting every item again. Reading gives back Item dicts.

Rows are written in space-time order (a 3-D Z-order key of each bbox centre and the middle
of each time span, then the datetime, then the id: :func:`spatial_keys`) in row groups of
:data:`ROW_GROUP` rows, so each row group is a small box in longitude, latitude and time and
the row-group statistics of the ``bbox`` covering columns and of the datetimes both let a
reader skip most of a file (:mod:`eotdl.api.parquet_engine`). A large file is sorted a key
range at a time (parts written sorted, read back range by range, one part at a time, each
range let go before the next is read): memory stays flat in the number of items.

Any valid Item goes in: a null geometry (an image with no place on Earth) is a null row of the
``geometry`` and ``bbox`` columns, and ``assets: {}`` everywhere (a struct Parquet cannot hold)
is left out of the file and read back as ``{}``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections import deque
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from eotdl.catalog.arrowbuffers import numpy_array, numpy_of, string_array
from eotdl.catalog.arrowitems import fitting_rows
from eotdl.catalog.parquet_items import table_items
from eotdl.catalog.parquetsplice import (
    SegmentedWriter,
    index_path,
    read_footer,
    splice_row_groups,
    write_index,
)
from eotdl.errors import InputError

MEDIA_TYPE = "application/vnd.apache.parquet"
CHUNK = 8192
#: Rows per row group: small enough that a bbox or datetime query reads few rows, and that
#: the Items of a page are decoded from a row group or two quickly (about 3 ms of CPU for a
#: whole group of 1,024 items of synthetic chips); large enough that the footer stays small
#: (about 5 MB of statistics at a million items).
ROW_GROUP = 1024
#: Rows sorted in memory at once when a large file is written.
SORT_BUCKET = 65_536
#: Chunks of converted items held (as Arrow, about 1.2 kB a row) before they are sorted and
#: written as one part of a large file: fewer, longer parts mean fewer reads of each key range.
RUN_CHUNKS = 4
#: One sort key in this many of each part is kept to choose the key ranges (8 bytes per item
#: would be 80 MB at ten million items).
KEY_SAMPLE = 16
#: Row groups a large file's writer holds the metadata of as objects (then as footer bytes).
SEGMENT_GROUPS = 64
#: The sort key column of temporary parts (never in a written file).
_KEY = "__eotdl_sort_key"


def _stac_geoparquet() -> Any:
    """``stac_geoparquet.arrow``, imported when first needed: it brings pandas and
    pyarrow.dataset (about half a second), which a build that converts no item never needs."""
    import stac_geoparquet.arrow

    return stac_geoparquet.arrow


def preload() -> None:
    """Import what converting items needs in a background thread, while the caller does
    other work (an incremental build hashing its files): by the time it converts the few
    changed items, the import is done or under way."""
    import sys
    import threading

    if "stac_geoparquet.arrow" not in sys.modules:
        threading.Thread(target=_stac_geoparquet, name="eotdl-preload", daemon=True).start()


@dataclass(frozen=True)
class _Part:
    """A sorted part of a large file, and the smallest and largest sort key in it."""

    path: Path
    low: int
    high: int


class ItemsParquetWriter:
    """Write Items to one GeoParquet file, a chunk at a time; ``close`` finishes the file."""

    def __init__(self, path: str | os.PathLike[str], chunk_size: int | None = None) -> None:
        self.path = Path(path)
        self.chunk_size = chunk_size or CHUNK  # items converted at once (default: CHUNK)
        self.count = 0
        self._chunk: list[dict[str, Any]] = []
        self._held: list[pa.Table] = []  # converted chunks of one schema, not yet a part
        self._held_rows = 0
        self._parts: list[_Part] = []
        self._samples: list[np.ndarray] = []
        self._schema: pa.Schema | None = None
        self._tmp: Path | None = None

    def add(self, item: Mapping[str, Any]) -> None:
        """Add one Item (a dict as in STAC JSON)."""
        self._chunk.append(dict(item))
        self.count += 1
        if len(self._chunk) >= self.chunk_size:
            self._convert_chunk()

    def close(self) -> int:
        """Write the file; return the number of items."""
        try:
            if self._chunk:
                self._convert_chunk()
            if not self._parts:
                held = self._held
                self._held = []
                table = None
                if held:
                    table = pa.concat_tables(held) if len(held) > 1 else held[0]
                del held
                _write_table(table, self.path)
                return self.count
            self._flush_part()
            assert self._schema is not None and self._tmp is not None
            schema = self._schema.remove(self._schema.get_field_index(_KEY))
            bounds = _range_bounds(self._samples)
            stored = _geoparquet_schema(schema, self._tmp)
            writer = SegmentedWriter(self.path, stored, SEGMENT_GROUPS)
            try:
                for batch in _sorted_batches(self._parts, self._schema, bounds):
                    writer.write_batch(batch)
                writer.close()
            except BaseException:
                writer.abort()
                raise
            write_index(self.path, _key_ranges)
            return self.count
        finally:
            self._cleanup()

    def abort(self) -> None:
        """Forget everything (temporary parts are removed)."""
        self._chunk = []
        self._held = []
        self._cleanup()

    def _convert_chunk(self) -> None:
        table = _storable(items_to_arrow(self._chunk))
        self._chunk = []
        if self._held and not self._held[0].schema.equals(table.schema):
            self._flush_part()  # a part holds one schema; the parts' schemas are unified
        self._held.append(table)
        self._held_rows += table.num_rows
        if self._held_rows >= RUN_CHUNKS * self.chunk_size:
            self._flush_part()

    def _flush_part(self) -> None:
        if not self._held:
            return
        table = pa.concat_tables(self._held) if len(self._held) > 1 else self._held[0]
        self._held, self._held_rows = [], 0
        if self._tmp is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._tmp = Path(tempfile.mkdtemp(prefix=".parts-", dir=self.path.parent))
        path = self._tmp / f"{len(self._parts):06d}.parquet"
        keys = spatial_keys(table)
        table = table.append_column(_KEY, numpy_array(keys, pa.uint64()))
        order = sort_order(table)
        table = table.take(order)
        keys = keys[numpy_of(order)]
        # statistics of the key alone: what reading a key range back prunes row groups with
        pq.write_table(table, path, row_group_size=ROW_GROUP, write_statistics=[_KEY])
        self._parts.append(_Part(path, int(keys[0]), int(keys[-1])))
        self._samples.append(keys[::KEY_SAMPLE].copy())
        schema = table.schema
        if self._schema is None:
            self._schema = schema
        elif not self._schema.equals(schema):
            self._schema = pa.unify_schemas([self._schema, schema], promote_options="permissive")

    def _cleanup(self) -> None:
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None
        self._parts = []
        self._samples = []


def write_items_parquet(
    items: Iterable[Mapping[str, Any]],
    path: str | os.PathLike[str],
    chunk_size: int | None = None,
) -> int:
    """Write ``items`` (streamed) to a stac-geoparquet file at ``path``; return how many."""
    writer = ItemsParquetWriter(path, chunk_size)
    try:
        for item in items:
            writer.add(item)
    except BaseException:
        writer.abort()
        raise
    return writer.close()


def patch_items_parquet(
    previous: str | os.PathLike[str],
    path: str | os.PathLike[str],
    upserts: Iterable[Mapping[str, Any]],
    removed: Collection[str] = (),
    before: Mapping[str, Mapping[str, Any] | None] | None = None,
) -> bool:
    """Write ``path`` as ``previous`` with ``upserts`` replacing or adding rows (by id) and the
    ``removed`` ids dropped, rows in the order of every file. Streams ``previous`` a row group
    at a time, merging the (few) new rows in where :func:`sort_order` puts them, so memory is
    bounded whatever the file's size. False when the new rows do not fit the file's schema,
    or leave a column empty (the caller then writes the whole file, as a full build would).
    A few rows are spliced in instead (:func:`splice_items_parquet`, given ``before``)."""
    new_items = [dict(i) for i in upserts]
    if splice_items_parquet(previous, path, new_items, removed, before):
        return True
    drop = {str(i["id"]) for i in new_items} | set(removed)
    try:
        handle = pq.ParquetFile(previous)
        schema = handle.schema_arrow.remove_metadata()
    except (OSError, pa.ArrowException):
        return False
    added: pa.Table | None = None
    out = schema
    if new_items:
        added = _rows_fitting(new_items, schema)
        if added is None:
            return False
        added = added.take(sort_order(added))
    drop_ids = string_array(sorted(drop))
    filled = [0] * len(out)  # values per column: one left all null was its items' alone

    def counted(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            for index, column in enumerate(batch.columns):
                filled[index] += len(column) - column.null_count
            yield batch

    def merged() -> Iterator[pa.RecordBatch]:
        pending = added
        for batch in handle.iter_batches(batch_size=ROW_GROUP):
            table = pa.Table.from_batches([batch]).replace_schema_metadata(None)
            if drop:
                table = table.filter(pc.invert(pc.is_in(table["id"], value_set=drop_ids)))
            if pending is not None and pending.num_rows and table.num_rows:
                both = pa.concat_tables([table, pending])
                order = numpy_of(sort_order(both))
                # new rows sorting after this batch's last row wait for the next batches
                cut = int(np.flatnonzero(order < table.num_rows)[-1]) + 1
                table = both.take(numpy_array(order[:cut], pa.int64()))
                pending = both.take(numpy_array(order[cut:], pa.int64()))
            yield from table.to_batches()
        if pending is not None and pending.num_rows:
            yield from pending.to_batches()

    try:
        _write_batches(handle.schema_arrow, counted(_rebatched(merged())), Path(path))
    except (pa.ArrowException, ValueError):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        return False
    if not all(filled):  # a property no item has any more: the file is written from scratch
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        index_path(Path(path)).unlink(missing_ok=True)
        return False
    return True


def splice_items_parquet(
    previous: str | os.PathLike[str],
    path: str | os.PathLike[str],
    upserts: list[dict[str, Any]],
    removed: Collection[str] = (),
    before: Mapping[str, Mapping[str, Any] | None] | None = None,
) -> bool:
    """:func:`patch_items_parquet` for a few rows: rewrite only the row groups that lose or
    gain a row, copying the others' bytes (:mod:`eotdl.catalog.parquetsplice`). ``before``
    gives the previous version of changed and removed items (an id it lacks was not in the
    file; None: not known): with the sort-key range of each row group, kept in the footer's
    index, their row groups are found without reading the file's columns. False (nothing
    written) when it cannot."""
    drop = {str(i["id"]) for i in upserts} | set(removed)
    try:
        handle = pq.ParquetFile(previous)
        schema = handle.schema_arrow.remove_metadata()
        meta = handle.metadata
        groups = meta.num_row_groups
        if not groups:
            return False
        added: pa.Table | None = None
        if upserts:
            added = _rows_fitting(upserts, schema)
            if added is None:
                return False
        sizes = np.array([meta.row_group(i).num_rows for i in range(groups)], np.int64)
        ranges = _ranges_of(Path(previous), groups)
        finder = _GroupFinder(handle, sizes, ranges)
        touched: dict[int, list[pa.Table]] = {}
        for group in finder.holding(drop, before):
            touched.setdefault(group, [])
        if added is not None:
            for row in range(added.num_rows):
                one = added.slice(row, 1)
                touched.setdefault(finder.place(one), []).append(one)
        if not touched:
            return False
        drop_ids = string_array(sorted(drop))
        replace: dict[int, pa.Table] = {}
        for group, extra in touched.items():
            rows = handle.read_row_group(group).replace_schema_metadata(None)
            rows = rows.filter(pc.invert(pc.is_in(rows["id"], value_set=drop_ids)))
            rows = pa.concat_tables([rows, *extra]) if extra else rows
            if rows.num_rows > 2 * ROW_GROUP:
                return False  # a row group that grew this much is better written afresh
            replace[group] = rows.take(sort_order(rows)).combine_chunks()
    except (OSError, pa.ArrowException, ValueError, _Unsorted):
        return False
    if not splice_row_groups(Path(previous), Path(path), replace, _key_range, handle.schema_arrow):
        return False
    if ranges is None:  # an index without key ranges (an older build's): give it them
        write_index(Path(path), _key_ranges)
    return True


def _rows_fitting(items: list[dict[str, Any]], schema: pa.Schema) -> pa.Table | None:
    """``items`` as rows of a file of ``schema``; None when they bring a new property or a
    wider type (the whole file is then written again, so its columns come in the order and
    with the types a full build gives them)."""
    quick = fitting_rows(items, schema)
    if quick is not None:
        return _conform(quick, schema)
    rows = _storable(items_to_arrow(items))
    try:
        unified = pa.unify_schemas([schema, rows.schema], promote_options="permissive")
    except (pa.ArrowException, ValueError):
        return None
    if not unified.remove_metadata().equals(schema):
        return None
    return _conform(rows, schema)


#: The columns :func:`sort_order` reads.
_ORDER_COLUMNS = ("id", "bbox", "datetime", "start_datetime", "end_datetime")


class _Unsorted(Exception):
    """The file is not in the order this module writes."""


def _key_range(table: pa.Table) -> list[int]:
    """The smallest and largest sort key of a table's rows."""
    keys = spatial_keys(table)
    return [int(keys.min()), int(keys.max())] if keys.size else [0, 0]


def _key_ranges(path: Path) -> list[list[int]]:
    """The sort-key range of each row group of a file (kept in its footer's index)."""
    handle = pq.ParquetFile(path)
    columns = [c for c in _ORDER_COLUMNS if c in handle.schema_arrow.names]
    return [
        _key_range(handle.read_row_group(group, columns=columns))
        for group in range(handle.metadata.num_row_groups)
    ]


def _ranges_of(path: Path, groups: int) -> np.ndarray | None:
    try:
        footer, _ = read_footer(path)
    except Exception:  # noqa: BLE001 - no index: the finder reads the columns instead
        return None
    extra = footer.extra
    if extra is None or len(extra) != groups:
        return None
    try:
        return np.array(extra, dtype=np.uint64).reshape(groups, 2)
    except (TypeError, ValueError):
        return None


class _GroupFinder:
    """Which row group of a sorted file holds an id, and where a new row goes: from the key
    ranges of the footer's index and the few row groups they point at, else from the file's
    id and sort columns (read once)."""

    def __init__(
        self, handle: pq.ParquetFile, sizes: np.ndarray, ranges: np.ndarray | None
    ) -> None:
        self.handle = handle
        self.sizes = sizes
        self.starts = np.concatenate([[0], np.cumsum(sizes)])
        self.ranges = ranges
        self.columns = [c for c in _ORDER_COLUMNS if c in handle.schema_arrow.names]
        self._table: pa.Table | None = None
        self._keys: np.ndarray | None = None

    def _all(self) -> tuple[pa.Table, np.ndarray]:
        if self._table is None or self._keys is None:
            self._table = self.handle.read(columns=self.columns)
            self._keys = spatial_keys(self._table)
            if self._keys.size and not bool(np.all(self._keys[1:] >= self._keys[:-1])):
                raise _Unsorted
        return self._table, self._keys

    def _group_of(self, position: int) -> int:
        group = int(np.searchsorted(self.starts, position, "right") - 1)
        return min(len(self.sizes) - 1, max(0, group))

    def _covering(self, key: int) -> np.ndarray:
        assert self.ranges is not None
        low, high = self.ranges[:, 0], self.ranges[:, 1]
        return np.flatnonzero((low <= np.uint64(key)) & (np.uint64(key) <= high))

    def holding(
        self, ids: set[str], before: Mapping[str, Mapping[str, Any] | None] | None
    ) -> set[int]:
        """The row groups that hold any of ``ids``."""
        if not ids:
            return set()
        found: set[int] = set()
        known = before is not None and all(before.get(i, {}) is not None for i in ids)
        if self.ranges is not None and known:
            assert before is not None
            olds = [dict(before[i] or {}) for i in sorted(ids) if i in before]
            if not olds:
                return found  # none of them was in the file
            rows = fitting_rows(olds, self.handle.schema_arrow)
            keys = spatial_keys(rows if rows is not None else _storable(items_to_arrow(olds)))
            wanted = string_array(sorted(i for i in ids if i in before))
            candidates = sorted({int(g) for k in keys for g in self._covering(int(k))})
            left = set(wanted.to_pylist())
            for group in candidates:
                column = self.handle.read_row_group(group, columns=["id"])["id"]
                hits = pc.is_in(column, value_set=wanted)
                if pc.any(hits).as_py():
                    found.add(group)
                    left -= set(pc.filter(column, hits).to_pylist())
            if not left:
                return found
        table, _ = self._all()  # no index, or an id not where its key says: look everywhere
        hit = pc.is_in(table["id"], value_set=string_array(sorted(ids)))
        return found | {self._group_of(int(at)) for at in np.flatnonzero(numpy_of(hit))}

    def place(self, row: pa.Table) -> int:
        """The row group a new row joins (its rows then sorted with it)."""
        key = int(spatial_keys(row)[0])
        if self.ranges is not None:
            covering = self._covering(key)
            if covering.size == 1:
                return int(covering[0])
            if covering.size == 0:  # between two row groups: the end of the earlier one
                later = int(np.searchsorted(self.ranges[:, 0], np.uint64(key), "right"))
                return max(0, later - 1)
        table, keys = self._all()  # ties across row groups: the exact place
        return self._group_of(_position(table, keys, row))


def _position(table: pa.Table, keys: np.ndarray, row: pa.Table) -> int:
    """Where ``row`` goes among the rows of ``table`` (sorted by :func:`sort_order`, their
    keys ``keys``): after every row that sorts before it."""
    key = spatial_keys(row)[0]
    low = int(np.searchsorted(keys, key, "left"))
    high = int(np.searchsorted(keys, key, "right"))
    if low == high:
        return low
    ties = table.slice(low, high - low)
    both = pa.concat_tables([ties, row.select(ties.column_names)])
    # the row's place in the sorted ties is the number of ties sorting before it
    order = numpy_of(sort_order(both))
    return low + int(np.flatnonzero(order == high - low)[0])


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table | None:
    """``table`` with ``schema``'s columns and types (missing columns null), or None when it
    has columns the schema lacks or values that do not cast."""
    if table.schema.equals(schema, check_metadata=False):
        return table.replace_schema_metadata(None)
    if not set(table.column_names) <= set(schema.names):
        return None
    columns = []
    try:
        for schema_field in schema:
            if schema_field.name in table.column_names:
                column = table.column(schema_field.name)
                if not column.type.equals(schema_field.type):
                    column = column.cast(schema_field.type)
                columns.append(column)
            else:
                columns.append(pa.nulls(table.num_rows, schema_field.type))
    except (pa.ArrowException, ValueError):
        return None
    return pa.Table.from_arrays(columns, schema=schema)


def _rebatched(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """The same rows in batches (row groups) of :data:`ROW_GROUP` rows, the last one shorter."""
    held: list[pa.RecordBatch] = []
    rows = 0
    for batch in batches:
        held.append(batch)
        rows += batch.num_rows
        while rows >= ROW_GROUP:
            table = pa.Table.from_batches(held)
            yield table.slice(0, ROW_GROUP).combine_chunks().to_batches()[0]
            rest = table.slice(ROW_GROUP)
            held = rest.to_batches() if rest.num_rows else []
            rows = rest.num_rows
    if rows:
        yield from pa.Table.from_batches(held).combine_chunks().to_batches()


def _write_batches(schema: pa.Schema, batches: Iterable[pa.RecordBatch], path: Path) -> None:
    """Write a file of the columns and GeoParquet metadata of ``schema`` (a file's, as
    stac-geoparquet wrote it: the same metadata, without importing stac-geoparquet and pandas
    for a few changed rows), a row group per batch."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with pq.ParquetWriter(path, schema) as writer:
        for batch in batches:
            writer.write_batch(batch)
    write_index(path, _key_ranges)


def read_items_parquet(path: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """Every Item of a stac-geoparquet file, streaming a row group at a time.

    Columns that an item did not have (null because another item had them) are left out, and
    datetimes with zero microseconds come back as written (``…T10:30:00Z``).
    """
    try:
        handle = pq.ParquetFile(path)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except pa.ArrowException as exc:
        raise InputError(f"{path}: not a parquet file: {exc}") from None
    for batch in handle.iter_batches():
        yield from table_items(pa.Table.from_batches([batch]))


def count_items_parquet(path: str | os.PathLike[str]) -> int:
    """How many items a stac-geoparquet file holds (read from its footer)."""
    return int(pq.read_metadata(path).num_rows)


def items_to_arrow(items: list[dict[str, Any]]) -> pa.Table:
    """Items as an Arrow table; items with a null geometry get null ``geometry`` and ``bbox``
    (stac-geoparquet needs a geometry: a placeholder is converted, then nulled)."""
    for item in items:
        problem = _shape_problem(item)
        if problem:
            collection = item.get("collection")
            of = f" of collection {collection[:80]!r}" if isinstance(collection, str) else ""
            raise InputError(
                f"item {str(item.get('id'))[:80]!r}{of}: {problem}",
                hint="run `eotdl validate` on the dataset and fix the item it names",
            )
    nulls = [index for index, item in enumerate(items) if item.get("geometry") is None]
    if nulls:
        placeholder = {"geometry": _PLACEHOLDER["geometry"], "bbox": _placeholder_bbox(items)}
        items = list(items)
        for index in nulls:
            items[index] = {**items[index], **placeholder}
    try:
        table = _stac_geoparquet().parse_stac_items_to_arrow(items, schema="FullFile").read_all()
    except (pa.ArrowException, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise InputError(
            f"cannot convert items to stac-geoparquet: {exc}",
            hint="run `eotdl validate` on the dataset: every item needs an id, a geometry"
            " and consistent property types",
        ) from None
    if nulls:
        mask = pc.is_in(pa.array(range(len(items))), value_set=pa.array(nulls))
        for name in ("geometry", "bbox"):
            column = table.column(name)
            table = table.set_column(
                table.schema.get_field_index(name),
                table.schema.field(name),
                pc.if_else(mask, pa.nulls(len(items), column.type), column),
            )
    return table


def _shape_problem(item: Mapping[str, Any]) -> str | None:
    """What keeps ``item`` from being a row (the JSON types stac-geoparquet relies on)."""
    if not isinstance(item.get("id"), str):
        return "'id' is not a string"
    if not isinstance(item.get("geometry"), (dict, type(None))):
        return "'geometry' is not an object or null"
    if not isinstance(item.get("properties"), dict):
        return "'properties' is not an object"
    assets = item.get("assets", {})
    if not isinstance(assets, dict) or not all(isinstance(a, dict) for a in assets.values()):
        return "'assets' is not an object of asset objects"
    if not isinstance(item.get("links", []), list):
        return "'links' is not a list"
    return None


def _placeholder_bbox(items: list[dict[str, Any]]) -> list[float]:
    """A bbox of the placeholder point, as many numbers as the other items' bboxes."""
    for item in items:
        box = item.get("bbox")
        if item.get("geometry") is not None and isinstance(box, list) and len(box) == 6:
            return [0.0] * 6
    return [0.0] * 4


def _storable(table: pa.Table) -> pa.Table:
    """``table`` without the struct columns that have no fields (``assets`` when every item has
    ``assets: {}``): Parquet cannot store them; stac-geoparquet's writer drops them too."""
    empty = [f.name for f in table.schema if pa.types.is_struct(f.type) and f.type.num_fields == 0]
    return table.drop_columns(empty) if empty else table


def _write_table(table: pa.Table | None, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if table is None:
        # no items: an empty file with the core columns, still valid GeoParquet
        empty = (
            _stac_geoparquet().parse_stac_items_to_arrow([_PLACEHOLDER], schema="FullFile")
        ).read_all()
        table = empty.slice(0, 0)
    elif table.num_rows:
        table = table.take(sort_order(table)).combine_chunks()
    batches = table.to_batches(max_chunksize=ROW_GROUP)
    _stac_geoparquet().to_parquet(pa.RecordBatchReader.from_batches(table.schema, batches), path)
    write_index(path, _key_ranges)


#: The sort key: 18 bits of longitude and 18 of latitude (about 150 m), and 22 of time in
#: quanta of :data:`TIME_QUANTUM` seconds from :data:`TIME_ORIGIN` (1900 to 2139), interleaved
#: bit by bit (a 3-D Morton key) below the 4 top bits of time.
_XY_BITS = 18
_T_BITS = 22
#: Seconds per step of the key's time axis: 30 minutes of time weigh as much as one step of
#: longitude (360° / 2^18), so 1° of longitude is worth about 16 days and a year of items
#: spread over a region about 20° wide is cut as much in time as in space.
TIME_QUANTUM = 1800
#: The key's time origin: 1900-01-01T00:00:00Z, in seconds since 1970.
TIME_ORIGIN = -2_208_988_800
_NO_KEY = np.iinfo(np.uint64).max


def spatial_keys(table: pa.Table) -> np.ndarray:
    """The space-time sort key of each row: a 3-D Morton (Z-order) key of its bbox centre and
    the middle of its time span (``datetime``, or ``start_datetime``/``end_datetime``), one
    uint64 per row, computed from the row alone (any chunk of a file gives the same keys).

    Row groups of rows sorted by it are small boxes in longitude, latitude *and* time, so the
    row-group statistics of the bbox columns and of the datetimes both prune. Rows with a bbox
    but no time sort after every timed row, in space order; rows with no bbox sort last.
    """
    n = table.num_rows
    if "bbox" not in table.column_names or not pa.types.is_struct(table.column("bbox").type):
        return np.full(n, _NO_KEY, np.uint64)
    column = table.column("bbox").combine_chunks()
    names = {column.type.field(i).name for i in range(column.type.num_fields)}
    if not {"xmin", "ymin", "xmax", "ymax"} <= names:
        return np.full(n, _NO_KEY, np.uint64)

    def values(name: str) -> np.ndarray:
        return np.asarray(numpy_of(column.field(name)), dtype="float64")

    xmin, xmax = values("xmin"), values("xmax")
    cx = (xmin + xmax) / 2
    across = xmin > xmax  # across the antimeridian: its centre is near ±180, not near 0
    cx[across] = (xmin[across] + xmax[across] + 360) / 2
    cx[cx > 180] -= 360
    cy = (values("ymin") + values("ymax")) / 2
    missing = np.isnan(cx) | np.isnan(cy) | numpy_of(pc.is_null(column))
    top = (1 << _XY_BITS) - 1
    qx = np.clip((np.nan_to_num(cx) + 180) / 360 * top, 0, top).astype(np.uint64)
    qy = np.clip((np.nan_to_num(cy) + 90) / 180 * top, 0, top).astype(np.uint64)
    middle = _time_middles(table)
    last = (1 << _T_BITS) - 1
    timed = ~np.isnan(middle)
    steps = np.full(n, float(last))  # no time: the last step
    steps[timed] = (middle[timed] / 1e6 - TIME_ORIGIN) // TIME_QUANTUM
    qt = np.clip(steps, 0, last).astype(np.uint64)
    low_t = qt & np.uint64(top)
    high_t = qt >> np.uint64(_XY_BITS)
    keys = _spread3(qx) | (_spread3(qy) << np.uint64(1)) | (_spread3(low_t) << np.uint64(2))
    keys |= high_t << np.uint64(3 * _XY_BITS)
    keys[missing] = _NO_KEY
    return keys


def _time_middles(table: pa.Table) -> np.ndarray:
    """The middle of each row's time span in microseconds since 1970 (NaN when it has none):
    ``start_datetime`` (else ``datetime``) to ``end_datetime`` (else ``datetime``)."""
    n = table.num_rows

    def micros(name: str) -> np.ndarray:
        if name not in table.column_names:
            return np.full(n, np.nan)
        column = table.column(name)
        if not pa.types.is_timestamp(column.type):
            return np.full(n, np.nan)
        ints = column.cast(pa.timestamp("us", tz=column.type.tz)).cast(pa.int64())
        return np.asarray(numpy_of(ints), dtype="float64")  # nulls: NaN

    instant = micros("datetime")
    first = micros("start_datetime")
    last = micros("end_datetime")
    first = np.where(np.isnan(first), instant, first)
    last = np.where(np.isnan(last), instant, last)
    return np.where(np.isnan(first), last, np.where(np.isnan(last), first, (first + last) / 2))


def _spread3(values: np.ndarray) -> np.ndarray:
    """Integers of up to 21 bits with two zero bits inserted between each of their bits."""
    v = values & np.uint64(0x1FFFFF)
    for shift, mask in (
        (32, 0x1F00000000FFFF),
        (16, 0x1F0000FF0000FF),
        (8, 0x100F00F00F00F00F),
        (4, 0x10C30C30C30C30C3),
        (2, 0x1249249249249249),
    ):
        v = (v | (v << np.uint64(shift))) & np.uint64(mask)
    return v


def sort_order(table: pa.Table) -> pa.Array:
    """Row order of a written file: space-time key (:func:`spatial_keys`), then datetime, then
    id (then as given)."""
    keys: dict[str, pa.Array] = {}
    if _KEY in table.column_names:
        keys["k"] = table.column(_KEY)
    else:
        keys["k"] = numpy_array(spatial_keys(table), pa.uint64())
    if "datetime" in table.column_names and pa.types.is_timestamp(table.column("datetime").type):
        keys["t"] = table.column("datetime")
    keys["i"] = table.column("id")
    keys["n"] = numpy_array(np.arange(table.num_rows, dtype=np.int64), pa.int64())
    order = [(name, "ascending", "at_end") for name in keys]
    return pc.sort_indices(pa.table(keys), sort_keys=order)


def _geoparquet_schema(schema: pa.Schema, folder: Path) -> pa.Schema:
    """``schema`` with the metadata stac-geoparquet gives a file of it (GeoParquet's ``geo``
    and its own), read back from an empty file it wrote in ``folder``."""
    probe = folder / "schema.parquet"
    _stac_geoparquet().to_parquet(schema.empty_table(), probe)
    return pq.read_schema(probe)


def _range_bounds(samples: list[np.ndarray]) -> list[int]:
    """Sort keys cutting the parts' rows into ranges of about :data:`SORT_BUCKET` rows, from a
    sample of each part's keys."""
    if not samples:
        return []
    keys = np.sort(np.concatenate(samples))
    step = max(1, SORT_BUCKET // KEY_SAMPLE)
    return sorted({int(k) for k in keys[step::step]})


def _sorted_batches(
    parts: list[_Part], schema: pa.Schema, bounds: list[int]
) -> Iterator[pa.RecordBatch]:
    """The rows of sorted parts in file order, in batches of :data:`ROW_GROUP` rows (the last
    one shorter), read a key range (about :data:`SORT_BUCKET` rows) at a time.

    A range is let go before the next one is read. Its batches are slices of it, and a slice
    keeps all of its table alive: the writer holds the batch it wrote last while the next range
    is read, so that batch and the rows carried over to the next range are copies."""
    carry: pa.Table | None = None  # the last rows of a range, short of a row group
    for table in _sorted_ranges(parts, schema, bounds):
        batches: deque[pa.RecordBatch] = deque()
        start = 0
        if carry is not None:  # the carried rows and the first of this range: one row group
            start = min(ROW_GROUP - carry.num_rows, table.num_rows)
            carry = pa.concat_tables([carry, table.slice(0, start)])
            if carry.num_rows == ROW_GROUP:
                batches.append(_copied(carry))
                carry = None
        end = start + (table.num_rows - start) // ROW_GROUP * ROW_GROUP
        for at in range(start, end, ROW_GROUP):
            batches.append(table.slice(at, ROW_GROUP).to_batches()[0])
        if end > start:
            batches.append(_copied(batches.pop()))
        if end < table.num_rows:
            carry = pa.Table.from_batches([_copied(table.slice(end))])
        elif carry is not None:
            carry = pa.Table.from_batches([_copied(carry)])
        del table
        while batches:
            yield batches.popleft()
    if carry is not None:
        yield from carry.to_batches()


def _copied(table: pa.Table | pa.RecordBatch) -> pa.RecordBatch:
    """The rows of ``table`` as one batch in buffers of its own."""
    rows = table.take(numpy_array(np.arange(table.num_rows), pa.int64()))
    if isinstance(rows, pa.RecordBatch):
        return rows
    return rows.combine_chunks().to_batches()[0]


def _sorted_ranges(parts: list[_Part], schema: pa.Schema, bounds: list[int]) -> Iterator[pa.Table]:
    """The rows of each key range cut by ``bounds``, sorted (one chunk, no sort key column).

    Each part is read on its own and let go: one dataset of every part would keep each part's
    footer and reader (about 0.45 MB a part) until the end. Parts whose keys miss a range are
    not opened for it."""
    import pyarrow.dataset as ds

    key = ds.field(_KEY)
    edges: list[int | None] = [None, *bounds, None]
    for low, high in pairwise(edges):
        condition = None
        if low is not None:
            condition = key >= pa.scalar(low, pa.uint64())
        if high is not None:
            below = key < pa.scalar(high, pa.uint64())
            condition = below if condition is None else condition & below
        pieces = []
        for part in parts:
            if (low is not None and part.high < low) or (high is not None and part.low >= high):
                continue
            rows = ds.dataset([str(part.path)], schema=schema).to_table(filter=condition)
            if rows.num_rows:
                pieces.append(rows)
        if not pieces:
            continue
        table = pa.concat_tables(pieces)
        del pieces
        table = table.take(sort_order(table)).drop_columns([_KEY]).combine_chunks()
        held = [table]
        del table
        yield held.pop()  # this frame keeps no hold on the range while it is written


_PLACEHOLDER: dict[str, Any] = {
    "type": "Feature",
    "stac_version": "1.0.0",
    "stac_extensions": [],
    "id": "",
    "geometry": {"type": "Point", "coordinates": [0.0, 0.0]},
    "bbox": [0.0, 0.0, 0.0, 0.0],
    "properties": {"datetime": "2000-01-01T00:00:00Z"},
    "links": [],
    "assets": {},
}
