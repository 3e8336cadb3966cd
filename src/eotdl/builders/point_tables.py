"""Tables of point observations, read as raw rows: CSV, GeoJSON Point features, GeoParquet.

CSV is read as UTF-8 checked line by line (:func:`csv_lines`; ``,``, ``;`` or tab separated);
GeoJSON through :func:`eotdl.builders.geojsonfile.read_geojson`; GeoParquet batch by batch, its
WKB points taken to longitude/latitude from the column's CRS (or lon/lat columns without a
geometry column). Each :class:`Row` keeps where it was read (``file:line``, feature or row) so
messages name it; checking the values is the ``points`` builder's
(:mod:`eotdl.builders.points`).
"""

from __future__ import annotations

import csv
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eotdl.builders.geojsonfile import read_geojson
from eotdl.errors import InputError

#: Media type of each table format, by file suffix.
MEDIA_TYPES = {
    ".csv": "text/csv",
    ".geojson": "application/geo+json",
    ".json": "application/geo+json",
    ".parquet": "application/vnd.apache.parquet",
    ".geoparquet": "application/vnd.apache.parquet",
}


@dataclass
class Row:
    """One raw observation and where it was read (``file:line``, feature or row)."""

    where: str
    fields: dict[str, Any]
    lonlat: tuple[Any, Any] | None = None  # from a geometry, else read from the fields


class PointTable:
    """One table of observations: its format, its column names, and its rows."""

    def __init__(self, path: Path, *, geometry: str = "geometry") -> None:
        self.path = path
        self.geometry = geometry  # the WKB column of a GeoParquet file
        suffix = path.suffix.lower()
        if suffix not in MEDIA_TYPES:
            raise InputError(
                f"{path}: expected a .csv, .geojson or .parquet file",
                hint="SOURCE is one table of observations",
            )
        self.media_type = MEDIA_TYPES[suffix]
        self.format = {".json": ".geojson", ".geoparquet": ".parquet"}.get(suffix, suffix)

    def rows(self) -> Iterator[Row]:
        """Every row, in file order."""
        if self.format == ".csv":
            yield from self._csv_rows()
        elif self.format == ".geojson":
            yield from self._geojson_rows()
        else:
            yield from self._parquet_rows()

    def columns(self) -> list[str]:
        """The table's column (or property) names, for the default value columns."""
        if self.format == ".csv":
            header: list[str] = []
            list(self._csv_rows(header_only=header))  # stops after the header
            return header
        if self.format == ".geojson":
            seen: dict[str, None] = {}
            for row in self._geojson_rows():
                seen.update(dict.fromkeys(row.fields))
            return list(seen)
        return list(self._parquet().schema_arrow.names)

    def _parquet(self) -> Any:
        """The Parquet file, opened (a clear error when it is not one)."""
        import pyarrow.parquet as pq
        from pyarrow import ArrowException

        try:
            return pq.ParquetFile(self.path)
        except (ArrowException, OSError) as exc:
            raise InputError(f"{self.path}: not a readable Parquet file ({exc})") from None

    def _csv_rows(self, header_only: list[str] | None = None) -> Iterator[Row]:
        """The CSV's records, read through :func:`csv_lines` (UTF-8 checked line by line);
        with ``header_only``, fill it with the column names and stop."""
        lines = csv_lines(self.path)
        first = next(lines, "")
        delimiter = ","
        if "," not in first:
            delimiter = next((c for c in (";", "\t") if c in first), ",")
        reader = csv.DictReader(itertools.chain([first], lines), delimiter=delimiter)
        try:
            if reader.fieldnames is None:
                raise InputError(f"{self.path}: empty CSV file (no header line)")
            reader.fieldnames = [name.strip() for name in reader.fieldnames]
            if header_only is not None:
                header_only.extend(reader.fieldnames)
                return
            for record in reader:
                where = f"{self.path}:{reader.line_num}"
                if None in record:
                    raise InputError(f"{where}: more fields than the header has columns")
                yield Row(where, record)
        except csv.Error as exc:
            raise InputError(
                f"{self.path}:{reader.line_num}: not a readable CSV line ({exc})"
            ) from None

    def _geojson_rows(self) -> Iterator[Row]:
        for index, feature in enumerate(read_geojson(self.path, "points")):
            where = f"{self.path}: feature {index}"
            geometry = feature.get("geometry") or {}  # checked GeoJSON, or null
            coordinates = geometry.get("coordinates")
            if geometry.get("type") != "Point" or not isinstance(coordinates, list):
                raise InputError(
                    f"{where}: geometry is {geometry.get('type')!r}, expected a Point",
                    hint="observations are points; take centroids of other shapes first",
                )
            yield Row(
                where, dict(feature.get("properties") or {}), (coordinates[0], coordinates[1])
            )

    def _parquet_rows(self) -> Iterator[Row]:
        import shapely

        table = self._parquet()
        column = self.geometry
        names = table.schema_arrow.names
        to_wgs84 = None
        if column in names:
            try:
                geo = json.loads((table.schema_arrow.metadata or {}).get(b"geo") or b"{}")
                spec = geo["columns"][column] if "columns" in geo else {}
                if not isinstance(spec, dict) or not isinstance(spec.get("encoding", ""), str):
                    raise TypeError(spec)
            except (ValueError, TypeError, KeyError, AttributeError):
                raise InputError(f"{self.path}: malformed GeoParquet 'geo' metadata") from None
            if str(spec.get("encoding") or "WKB").upper() != "WKB":
                raise InputError(
                    f"{self.path}: geometry column {column!r} is {spec['encoding']}, not WKB"
                )
            to_wgs84 = _transformer(spec.get("crs"), self.path)
        number = 0
        for batch in _batches(table, self.path):
            for record in batch.to_pylist():
                number += 1
                where = f"{self.path}: row {number}"
                lonlat = None
                if column in names:
                    wkb = record.pop(column)
                    try:
                        point = shapely.from_wkb(wkb)
                    except Exception:  # noqa: BLE001 - shapely raises several kinds
                        raise InputError(f"{where}: geometry is not WKB") from None
                    if point is None or point.geom_type != "Point" or point.is_empty:
                        kind = None if point is None else point.geom_type
                        raise InputError(f"{where}: geometry is {kind!r}, expected a Point")
                    x, y = point.x, point.y
                    if to_wgs84 is not None:
                        x, y = to_wgs84(x, y)
                    lonlat = (x, y)
                yield Row(where, record, lonlat)


def csv_lines(path: Path) -> Iterator[str]:
    """The lines of a text file, each checked to be UTF-8 (a byte-order mark is skipped): a
    file in another encoding is refused at the line that shows it, not with a traceback."""
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    with handle:
        for number, raw in enumerate(handle, start=1):
            try:
                yield raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                raise InputError(
                    f"{path}:{number}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at column"
                    f" {exc.start + 1})",
                    hint="save the file as UTF-8, e.g. `iconv -f latin1 -t utf-8 in.csv > out.csv`",
                ) from None


def _transformer(crs: Any, path: Path) -> Any:
    """A function (x, y) -> (lon, lat) for a GeoParquet column CRS, or None for lon/lat."""
    if crs is None:
        return None
    from pyproj import CRS, Transformer
    from pyproj.exceptions import CRSError

    try:
        source = CRS.from_user_input(crs if not isinstance(crs, dict) else json.dumps(crs))
    except CRSError as exc:
        raise InputError(f"{path}: geometry CRS is not readable ({exc})") from None
    if source.equals(CRS.from_epsg(4326), ignore_axis_order=True):
        return None
    transform = Transformer.from_crs(source, "EPSG:4326", always_xy=True)
    return transform.transform


def _batches(table: Any, path: Path) -> Iterator[Any]:
    """The record batches of a Parquet file; a corrupt page is an InputError."""
    from pyarrow import ArrowException

    batches = table.iter_batches(batch_size=4096)
    while True:
        try:
            batch = next(batches)
        except StopIteration:
            return
        except (ArrowException, OSError) as exc:
            raise InputError(f"{path}: not a readable Parquet file ({exc})") from None
        yield batch
