"""Reading stac-geoparquet from any location into an Arrow table, and items into one.

Rows become Item dicts through :mod:`eotdl.catalog.parquet_items`, the one reader.

Kept apart from :mod:`.table` so that downloads, which only list items, import neither
pyarrow.compute nor the search machinery.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from eotdl.catalog.locations import NotFoundError, Reader, is_remote, local_path
from eotdl.errors import InputError


def read_parquet(location: str, reader: Reader, by_id: bool = True) -> pa.Table:
    """A stac-geoparquet file as an Arrow table (local, http(s) or s3), in id order unless
    ``by_id`` is False (file order: what search answers in); NotFoundError if absent."""
    try:
        # ParquetFile, not read_table: read_table imports pyarrow.dataset (a second or so)
        if not is_remote(location):
            table = pq.ParquetFile(local_path(location)).read()
        else:
            table = pq.ParquetFile(io.BytesIO(reader.read_bytes(location))).read()
    except FileNotFoundError:
        raise NotFoundError(f"{location}: no such file") from None
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(f"{location}: not a readable parquet file: {exc}") from None
    return in_id_order(table) if by_id else table


def in_id_order(table: pa.Table) -> pa.Table:
    """Rows in id order (files are written in space-time order; readers list items by id)."""
    if "id" not in table.column_names or table.num_rows < 2:
        return table
    import pyarrow.compute as pc

    ids = table.column("id")
    if pc.all(pc.fill_null(pc.less_equal(ids[:-1], ids[1:]), True)).as_py():
        return table  # already in order (files written before space-time order)
    return table.take(pc.sort_indices(ids))


def items_to_table(items: Iterable[Mapping[str, Any]]) -> pa.Table:
    """Items (dicts) as a stac-geoparquet Arrow table."""
    from eotdl.catalog.geoparquet import items_to_arrow  # null geometries included

    batch = [dict(item) for item in items]
    if not batch:
        return pa.table({"id": pa.array([], pa.string())})
    return items_to_arrow(batch)
