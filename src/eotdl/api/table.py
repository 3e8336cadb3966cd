"""A dataset's Items as one in-memory Arrow table (stac-geoparquet layout) with the columns
searches need pre-computed: bounding boxes, time spans and the id index.

Built once per process from ``items.parquet`` (or from Items when a catalog has none), then
only read: any number of threads and server copies can search it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from eotdl.api.columns import Column, make_column
from eotdl.catalog.parquet_items import rows_to_items

#: Sentinels for a missing time: no interval query can meet them.
NO_START = np.iinfo(np.int64).max
NO_END = np.iinfo(np.int64).min


def _timestamps(table: pa.Table, name: str) -> np.ndarray | None:
    """A timestamp column as int64 microseconds since 1970 (None when absent)."""
    if name not in table.column_names:
        return None
    column = table.column(name)
    if not pa.types.is_timestamp(column.type):
        try:
            column = pc.cast(pc.cast(column, pa.string()), pa.timestamp("us", tz="UTC"))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None
    micro = pc.cast(column, pa.timestamp("us", tz="UTC")).cast(pa.int64())
    return np.asarray(micro.to_numpy(zero_copy_only=False), dtype="float64")


class ItemTable:
    """One collection's Items: the Arrow table and the arrays searches use."""

    def __init__(self, collection_id: str, table: pa.Table, base: str = "") -> None:
        self.collection_id = collection_id
        self.table = table.combine_chunks()
        #: Where relative asset hrefs in the table are resolved from (a document location).
        self.base = base
        n = self.table.num_rows
        self.ids = np.asarray(self.table.column("id").to_pylist() if n else [], dtype=object)
        self.row_of = {str(item_id): row for row, item_id in enumerate(self.ids)}
        self.xmin, self.ymin, self.xmax, self.ymax = self._bbox_arrays()
        self.start, self.end = self._time_arrays()
        self._geometries: np.ndarray | None = None
        self._columns: dict[str, Column | None] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self.table.num_rows

    def _bbox_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        n = self.table.num_rows
        names = self.table.column_names
        if "bbox" in names and pa.types.is_struct(self.table.column("bbox").type):
            column = self.table.column("bbox").combine_chunks()
            fields = [column.type.field(i).name for i in range(column.type.num_fields)]
            if {"xmin", "ymin", "xmax", "ymax"} <= set(fields):
                return tuple(  # type: ignore[return-value]
                    np.asarray(
                        pc.fill_null(column.field(f), float("nan")).to_numpy(zero_copy_only=False),
                        dtype="float64",
                    )
                    for f in ("xmin", "ymin", "xmax", "ymax")
                )
        bounds = np.full((n, 4), np.nan)
        if n and "geometry" in names:
            geometries = self.geometries()
            valid = ~shapely.is_missing(geometries)
            bounds[valid] = shapely.bounds(geometries[valid])
        return bounds[:, 0], bounds[:, 1], bounds[:, 2], bounds[:, 3]

    def _time_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        n = self.table.num_rows
        instant = _timestamps(self.table, "datetime")
        start = _timestamps(self.table, "start_datetime")
        end = _timestamps(self.table, "end_datetime")
        empty = np.full(n, np.nan)
        instant = empty if instant is None else instant
        start = np.where(np.isnan(start), instant, start) if start is not None else instant
        end = np.where(np.isnan(end), instant, end) if end is not None else instant
        starts = np.where(np.isnan(start), NO_START, start).astype(np.int64)
        ends = np.where(np.isnan(end), NO_END, end).astype(np.int64)
        return starts, ends

    def geometries(self) -> np.ndarray:
        """Every Item's geometry as shapely objects (parsed once, on first use)."""
        with self._lock:
            if self._geometries is None:
                if "geometry" not in self.table.column_names:
                    self._geometries = np.full(self.table.num_rows, None, dtype=object)
                else:
                    column = self.table.column("geometry")
                    if isinstance(column.type, pa.ExtensionType):
                        column = column.cast(column.type.storage_type)
                    wkb = column.to_numpy(zero_copy_only=False)
                    self._geometries = shapely.from_wkb(wkb, on_invalid="ignore")
            return self._geometries

    def geometries_at(self, positions: np.ndarray) -> np.ndarray:
        """The geometries (shapely) at these rows."""
        return self.geometries()[positions]

    def arrow_column(self, name: str) -> pa.Array | None:
        """A column as one Arrow array (None when absent)."""
        if name not in self.table.column_names:
            return None
        column = self.table.column(name)
        return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column

    def column(self, name: str) -> Column | None:
        """A column as NumPy arrays (made on first use, then kept); None when absent."""
        with self._lock:
            if name not in self._columns:
                found = name in self.table.column_names
                self._columns[name] = make_column(name, self.table.column(name)) if found else None
            return self._columns[name]

    def items(self, rows: Iterable[int]) -> list[dict[str, Any]]:
        """The Items at these rows, in this order, as dicts."""
        indices = pa.array(list(rows), pa.int64())
        if len(indices) == 0:
            return []
        return rows_to_items(self.table.take(indices))
