"""Reading and converting stac-geoparquet: a file to an Arrow table, rows to Item dicts.

Kept apart from :mod:`.table` so that downloads, which only list items, import neither
pyarrow.compute nor the search machinery.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from eotdl.catalog.locations import NotFoundError, Reader, is_remote, local_path
from eotdl.errors import InputError

#: Top-level Item fields; every other column of stac-geoparquet is a property.
TOP_LEVEL = frozenset(
    {"type", "stac_version", "stac_extensions", "id", "bbox", "links", "assets", "collection"}
)
DATETIMES = ("datetime", "start_datetime", "end_datetime", "created", "updated")
_ZERO_MICROS = re.compile(r"\.0+Z$")


def read_parquet(location: str, reader: Reader) -> pa.Table:
    """A stac-geoparquet file as an Arrow table (local, http(s) or s3); NotFoundError if absent."""
    try:
        # ParquetFile, not read_table: read_table imports pyarrow.dataset (a second or so)
        if not is_remote(location):
            return pq.ParquetFile(local_path(location)).read()
        return pq.ParquetFile(io.BytesIO(reader.read_bytes(location))).read()
    except FileNotFoundError:
        raise NotFoundError(f"{location}: no such file") from None
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(f"{location}: not a readable parquet file: {exc}") from None


def items_to_table(items: Iterable[Mapping[str, Any]]) -> pa.Table:
    """Items (dicts) as a stac-geoparquet Arrow table."""
    from eotdl.catalog.geoparquet import items_to_arrow  # null geometries included

    batch = [dict(item) for item in items]
    if not batch:
        return pa.table({"id": pa.array([], pa.string())})
    return items_to_arrow(batch)


def table_items(table: pa.Table, batch: int = 4096) -> Iterator[dict[str, Any]]:
    """The Items of a stac-geoparquet table, as dicts, as they were written: columns an item
    did not have (null because another item had them) are left out, and datetimes with zero
    microseconds read back as ``…T10:30:00Z`` (as :mod:`eotdl.catalog.geoparquet` does)."""
    if table.num_rows == 0 or "type" not in table.column_names:
        return
    for start in range(0, table.num_rows, batch):
        yield from rows_to_items(table.slice(start, batch))


def rows_to_items(table: pa.Table) -> list[dict[str, Any]]:
    """Rows as Item dicts: the same dicts as stac-geoparquet's ``stac_table_to_items`` (WKB
    geometries and ``proj:geometry`` back to GeoJSON, absent assets dropped), made from one
    ``to_pylist`` and vectorised geometry conversion: several times faster."""
    geometries: list[Any] = [None] * table.num_rows
    if "geometry" in table.column_names:
        column = table.column("geometry")
        if isinstance(column.type, pa.ExtensionType):
            column = column.cast(column.type.storage_type)
        geometries = _geojson(column.to_pylist())
        table = table.drop_columns(["geometry"])
    items = []
    for record, geometry in zip(table.to_pylist(), geometries, strict=True):
        item: dict[str, Any] = {}
        properties: dict[str, Any] = {}
        for key, value in record.items():
            if key in TOP_LEVEL:
                item[key] = value
            elif isinstance(value, dt.datetime):
                properties[key] = value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            else:
                properties[key] = value
        item["geometry"] = geometry
        box = item.get("bbox")
        if isinstance(box, dict):
            keys = ("xmin", "ymin", "zmin", "xmax", "ymax", "zmax")
            item["bbox"] = [box[k] for k in keys if k in box]
        if isinstance(properties.get("proj:geometry"), bytes):
            properties["proj:geometry"] = _geojson([properties["proj:geometry"]])[0]
        assets = item.get("assets")
        if isinstance(assets, dict):
            item["assets"] = {k: _asset(v) for k, v in assets.items() if v is not None}
        item["properties"] = properties
        items.append(_tidy(item))
    return items


def _asset(asset: Any) -> Any:
    if isinstance(asset, dict) and isinstance(asset.get("proj:geometry"), bytes):
        return {**asset, "proj:geometry": _geojson([asset["proj:geometry"]])[0]}
    return asset


def _geojson(wkb: list[bytes | None]) -> list[dict[str, Any] | None]:
    """WKB geometries as GeoJSON dicts (None stays None)."""
    import shapely

    shapes = shapely.from_wkb(wkb, on_invalid="ignore")
    return [orjson.loads(text) if text else None for text in shapely.to_geojson(shapes)]


def _tidy(item: dict[str, Any]) -> dict[str, Any]:
    properties = item.get("properties")
    if item.get("assets") is None:  # left out of the file when every item had ``{}``
        item["assets"] = {}
    if item.get("geometry") is None and item.get("bbox") is None:
        item.pop("bbox", None)  # a null geometry has no bbox
    if isinstance(properties, dict):
        for key in [k for k, v in properties.items() if v is None and k != "datetime"]:
            del properties[key]
        for key in DATETIMES:
            value = properties.get(key)
            if isinstance(value, str):
                properties[key] = _ZERO_MICROS.sub("Z", value)
    for key in [k for k, v in item.items() if v is None and k not in ("geometry", "bbox")]:
        del item[key]
    return item
