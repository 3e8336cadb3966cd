"""Chips on a fixed grid: where they are, and writing them.

A :class:`Frame` is one chip's pixel grid (CRS, transform, size); a :class:`Grid` lays frames
over an area, :func:`point_frame` centres one on a point. :func:`write_chip` writes a
deterministic COG (same array, same bytes).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import rasterio.shutil
import shapely
from affine import Affine
from rasterio.io import MemoryFile
from shapely.geometry import box
from shapely.geometry.base import BaseGeometry

#: Creation options of every chip: fixed, so two writes of one array give the same bytes.
COG_CREATION: dict[str, str] = {
    "COMPRESS": "DEFLATE",
    "PREDICTOR": "YES",
    "OVERVIEWS": "AUTO",
    "OVERVIEW_RESAMPLING": "NEAREST",
    "NUM_THREADS": "1",
}


@dataclass(frozen=True)
class Frame:
    """The pixel grid of one chip: ``width``×``height`` pixels of ``transform`` in ``crs``."""

    crs: str
    transform: Affine
    width: int
    height: int

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(minx, miny, maxx, maxy) in the frame's CRS."""
        x0, y0 = self.transform.c, self.transform.f
        x1 = x0 + self.transform.a * self.width
        y1 = y0 + self.transform.e * self.height
        return min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)

    def footprint(self) -> BaseGeometry:
        """The chip's outline in longitude/latitude."""
        return to_lonlat(box(*self.bounds), self.crs)


@dataclass(frozen=True)
class Grid:
    """A regular grid of square chips (``size`` pixels of ``resolution`` metres) in ``crs``."""

    crs: str
    resolution: float
    size: int
    x0: float
    y0: float
    rows: int
    cols: int

    @classmethod
    def covering(cls, area: BaseGeometry, crs: str, resolution: float, size: int) -> Grid:
        """The grid whose top-left corner is ``area``'s, snapped to the pixel size."""
        minx, miny, maxx, maxy = area.bounds
        x0 = math.floor(minx / resolution + 1e-9) * resolution
        y0 = math.ceil(maxy / resolution - 1e-9) * resolution
        span = resolution * size
        cols = max(1, math.ceil((maxx - x0) / span - 1e-9))
        rows = max(1, math.ceil((y0 - miny) / span - 1e-9))
        return cls(crs, resolution, size, x0, y0, rows, cols)

    def frame(self, row: int, col: int) -> Frame:
        """Chip (row, col), rows counted from the top."""
        span = self.resolution * self.size
        transform = Affine(
            self.resolution, 0.0, self.x0 + col * span, 0.0, -self.resolution, self.y0 - row * span
        )
        return Frame(self.crs, transform, self.size, self.size)

    def cells(self, area: BaseGeometry) -> Iterator[tuple[int, int]]:
        """(row, col) of every chip that overlaps ``area`` (in the grid's CRS), row-major."""
        from shapely import prepared

        inside = prepared.prep(area)
        for row in range(self.rows):
            for col in range(self.cols):
                cell = box(*self.frame(row, col).bounds)
                if inside.intersects(cell) and area.intersection(cell).area > 0:
                    yield row, col


def point_frame(x: float, y: float, crs: str, resolution: float, size: int) -> Frame:
    """A chip on the ``resolution`` grid whose centre pixel (size // 2) holds (x, y)."""
    half = size // 2
    x0 = (math.floor(x / resolution) - half) * resolution
    y0 = (math.floor(y / resolution) + 1 + half) * resolution
    return Frame(crs, Affine(resolution, 0.0, x0, 0.0, -resolution, y0), size, size)


def utm_crs(lon: float, lat: float) -> str:
    """The WGS 84 / UTM zone of a point, as ``EPSG:326NN`` (north) or ``EPSG:327NN``."""
    zone = min(60, max(1, int(math.floor((lon + 180.0) / 6.0)) + 1))
    return f"EPSG:{(32600 if lat >= 0 else 32700) + zone}"


_TRANSFORMERS = threading.local()


def _transformer(src: str, dst: str) -> Any:
    from pyproj import Transformer

    cache = _TRANSFORMERS.__dict__.setdefault("cache", {})
    key = (src, dst)
    if key not in cache:
        cache[key] = Transformer.from_crs(src, dst, always_xy=True)
    return cache[key]


def reproject(
    geometry: BaseGeometry, src: str, dst: str, step: float | None = None
) -> BaseGeometry:
    """``geometry`` from CRS ``src`` to ``dst``; edges densified every ``step`` source units."""
    if src == dst:
        return geometry
    if step:
        geometry = shapely.segmentize(geometry, step)
    transformer = _transformer(src, dst)

    def project(coords: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geometry, project)


def to_lonlat(geometry: BaseGeometry, crs: str) -> BaseGeometry:
    """A projected geometry in EPSG:4326, edges densified (about 20 points a side)."""
    minx, miny, maxx, maxy = geometry.bounds
    step = max(maxx - minx, maxy - miny) / 20 or None
    return reproject(geometry, crs, "EPSG:4326", step)


def from_lonlat(geometry: BaseGeometry, crs: str) -> BaseGeometry:
    """A longitude/latitude geometry in ``crs``, edges densified every 0.001°."""
    return reproject(geometry, "EPSG:4326", crs, 0.001)


def output_nodata(dtype: np.dtype) -> float:
    """The nodata value of a chip: NaN for floats, 0 for integers."""
    return math.nan if np.issubdtype(dtype, np.floating) else 0


def block_size(size: int) -> int:
    """A COG tile size for a chip: 256, or the chip rounded up to 16 (GDAL wants >= 128)."""
    return 256 if size >= 256 else max(128, math.ceil(size / 16) * 16)


def write_chip(
    path: Path,
    data: np.ndarray,
    frame: Frame,
    *,
    nodata: float | None,
    descriptions: Sequence[str] = (),
    scales: Sequence[float] = (),
    offsets: Sequence[float] = (),
) -> Path:
    """Write ``data`` (bands, rows, cols) on ``frame`` as a COG; same input, same bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    profile = {
        "driver": "GTiff",
        "width": frame.width,
        "height": frame.height,
        "count": data.shape[0],
        "dtype": data.dtype.name,
        "crs": frame.crs,
        "transform": frame.transform,
        "nodata": nodata,
    }
    with MemoryFile() as memory, memory.open(**profile) as staged:
        staged.write(data)
        for index, text in enumerate(descriptions, start=1):
            staged.set_band_description(index, text)
        if scales and any(s != 1.0 for s in scales):
            staged.scales = tuple(scales)
        if offsets and any(o != 0.0 for o in offsets):
            staged.offsets = tuple(offsets)
        predictor = "YES" if data.dtype.kind in "uif" else "NO"
        rasterio.shutil.copy(
            staged,
            str(path),
            driver="COG",
            **{**COG_CREATION, "PREDICTOR": predictor, "BLOCKSIZE": str(block_size(frame.width))},
        )
    return path
