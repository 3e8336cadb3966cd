"""Reading the rasters of a dataset: where GDAL finds an asset, and what a raster tells us.

:func:`raster_source` is the one place that turns an asset href into something rasterio opens
(a file of the embedded store, ``s3://`` with the lab's endpoint, or ``/vsicurl/`` for http);
:func:`inspect_raster` opens it once and records what the checks need (CRS, footprint, COG
layout, all-nodata or constant pixels, the values of a label mask), reading window by window.
"""

from __future__ import annotations

import contextlib
import math
import os
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import shapely
from rasterio.errors import RasterioError
from rasterio.transform import from_gcps
from rasterio.warp import transform as warp_transform
from rasterio.windows import Window
from shapely.geometry.base import BaseGeometry

from eotdl.catalog.lab import Lab

#: The most pixels (per band) one window holds: memory stays flat whatever the raster size.
WINDOW_PIXELS = 1024 * 1024
#: Raster media types and file suffixes the checks open.
RASTER_TYPES = ("image/tiff", "image/jp2", "application/x-hdf", "image/vnd.stac.geotiff")
RASTER_SUFFIXES = (".tif", ".tiff", ".jp2", ".vrt", ".img")
#: Distinct label values beyond which a mask is not treated as classes.
MAX_MASK_VALUES = 1000
#: GDAL's block cache (MB) while QA reads: every block is read once, so a large cache only
#: grows memory (GDAL's default is 5% of RAM). GDAL_CACHEMAX in the environment wins.
GDAL_CACHE_MB = 64


@dataclass(frozen=True)
class RasterSource:
    """What rasterio opens for one asset, and the GDAL settings it needs (picklable)."""

    location: str
    env: tuple[tuple[str, str], ...] = ()

    @contextlib.contextmanager
    def open(self) -> Iterator[Any]:
        """The open rasterio dataset, inside its GDAL environment."""
        options: dict[str, Any] = dict(self.env)
        if "GDAL_CACHEMAX" not in os.environ:
            options["GDAL_CACHEMAX"] = GDAL_CACHE_MB * 1024 * 1024
        with rasterio.Env(**options), rasterio.open(self.location) as src:
            yield src


def is_raster_asset(asset: dict[str, Any]) -> bool:
    """Whether an asset is a raster (by media type, else by file suffix)."""
    media = str(asset.get("type") or "").lower()
    if media:
        return any(media.startswith(t) for t in RASTER_TYPES)
    path = urllib.parse.urlsplit(str(asset.get("href", ""))).path.lower()
    return path.endswith(RASTER_SUFFIXES)


def raster_source(lab: Lab, dataset_dir: Path, href: str) -> RasterSource:
    """Where rasterio reads the asset at ``href`` (relative hrefs are relative to the dataset)."""
    parts = urllib.parse.urlsplit(href)
    if parts.scheme == "file":
        return RasterSource(urllib.parse.unquote(parts.path))
    if parts.scheme in ("http", "https"):
        return RasterSource("/vsicurl/" + href)
    if parts.scheme == "s3":
        return RasterSource(href, _s3_env(lab))
    if parts.scheme and len(parts.scheme) > 1:
        return RasterSource(href)
    path = Path(urllib.parse.unquote(parts.path))
    return RasterSource(os.path.normpath(path if path.is_absolute() else dataset_dir / path))


def _s3_env(lab: Lab) -> tuple[tuple[str, str], ...]:
    """GDAL's settings for the lab's S3 endpoint, region and profile."""
    config = lab.config.store
    env: dict[str, str] = {}
    if config.endpoint_url:
        endpoint = urllib.parse.urlsplit(config.endpoint_url)
        env["AWS_S3_ENDPOINT"] = endpoint.netloc or endpoint.path
        env["AWS_HTTPS"] = "NO" if endpoint.scheme == "http" else "YES"
        env["AWS_VIRTUAL_HOSTING"] = "FALSE"
    if config.region:
        env["AWS_REGION"] = config.region
    if config.profile:
        env["AWS_PROFILE"] = config.profile
    return tuple(sorted(env.items()))


def windows(src: Any, pixels: int = WINDOW_PIXELS) -> Iterator[Window]:
    """Windows covering the raster, aligned to its blocks, each at most ``pixels`` per band."""
    height, width = src.height, src.width
    block_h, block_w = src.block_shapes[0] if src.block_shapes else (height, width)
    block_h, block_w = max(1, min(block_h, height)), max(1, min(block_w, width))
    side = max(1, int(math.sqrt(pixels)))
    win_w = min(width, max(block_w, (side // block_w) * block_w))
    win_h = max(block_h, ((pixels // max(1, win_w)) // block_h) * block_h)
    win_h = min(height, win_h)
    for row in range(0, height, win_h):
        for col in range(0, width, win_w):
            yield Window(col, row, min(win_w, width - col), min(win_h, height - row))


def valid_mask(data: np.ndarray, nodata: float | None) -> np.ndarray:
    """True where a pixel holds data (not the nodata value, not NaN)."""
    valid = np.ones(data.shape, dtype=bool)
    if nodata is not None:
        if isinstance(nodata, float) and math.isnan(nodata):
            valid = ~np.isnan(data)
        else:
            valid = data != nodata
    if data.dtype.kind == "f":
        valid &= ~np.isnan(data)
    return valid


@dataclass
class RasterFacts:
    """What one raster asset is like, as far as the checks are concerned."""

    error: str = ""
    driver: str = ""
    width: int = 0
    height: int = 0
    count: int = 0
    dtype: str = ""
    crs: str | None = None
    footprint: BaseGeometry | None = None
    footprint_error: str = ""
    tiled: bool = False
    overviews: int = 0
    nodata: float | None = None
    all_nodata: bool | None = None
    constant: bool | None = None
    values: set[str] | None = None
    too_many_values: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def opened(self) -> bool:
        """Whether the raster opened."""
        return not self.error


def inspect_raster(source: RasterSource, *, mask_values: bool = False) -> RasterFacts:
    """Open a raster once and record its facts; ``mask_values`` also collects band 1's values."""
    facts = RasterFacts()
    try:
        with source.open() as src:
            _describe(src, facts)
            if facts.width < 1 or facts.height < 1 or facts.count < 1:
                facts.error = "the raster has no pixels or no bands"
                return facts
            _scan(src, facts, mask_values)
    except (RasterioError, OSError, ValueError) as exc:
        facts.error = " ".join(str(exc).split()) or type(exc).__name__
    return facts


def _describe(src: Any, facts: RasterFacts) -> None:
    facts.driver = src.driver
    facts.width, facts.height, facts.count = src.width, src.height, src.count
    facts.dtype = src.dtypes[0] if src.dtypes else ""
    facts.nodata = src.nodata
    block_h, block_w = src.block_shapes[0] if src.block_shapes else (src.height, src.width)
    facts.tiled = bool(src.profile.get("tiled")) or (block_w < src.width and block_h > 1)
    facts.overviews = len(src.overviews(1)) if src.count else 0
    crs, transform = src.crs, src.transform
    if crs is None and src.gcps and src.gcps[0] and src.gcps[1] is not None:
        crs, transform = src.gcps[1], from_gcps(src.gcps[0])
    if crs is None:
        return
    facts.crs = crs.to_string()
    try:
        facts.footprint = raster_footprint(crs, transform, src.width, src.height)
    except Exception as exc:  # noqa: BLE001 - any projection failure means "no footprint"
        facts.footprint_error = " ".join(str(exc).split()) or type(exc).__name__


def raster_footprint(crs: Any, transform: Any, width: int, height: int) -> BaseGeometry:
    """The raster's outline in WGS84 lon/lat, densified so curved edges stay close."""
    corners = [transform @ xy for xy in ((0, 0), (width, 0), (width, height), (0, height))]
    ring = shapely.segmentize(shapely.Polygon(corners), _seg_length(corners))
    xs, ys = zip(*ring.exterior.coords, strict=True)
    lons, lats = warp_transform(crs, "EPSG:4326", list(xs), list(ys))
    if not all(math.isfinite(v) for v in (*lons, *lats)):
        raise ValueError("the raster's corners do not project to longitude and latitude")
    polygon = shapely.Polygon(zip(lons, lats, strict=True))
    return polygon if polygon.is_valid else shapely.make_valid(polygon)


def _seg_length(corners: list[tuple[float, float]]) -> float:
    xs = [x for x, _ in corners]
    ys = [y for _, y in corners]
    span = max(max(xs) - min(xs), max(ys) - min(ys))
    return max(span / 16, 1e-9)


def _scan(src: Any, facts: RasterFacts, mask_values: bool) -> None:
    """Read window by window: stop once all-nodata and constant are settled (unless values)."""
    nodata = src.nodata
    first: Any = None
    any_valid = False
    varies = False
    values: set[Any] = set()
    for window in windows(src):
        data = src.read(1 if mask_values else None, window=window)
        valid = valid_mask(data, nodata)
        if valid.any():
            any_valid = True
            picked = data[valid]
            if first is None:
                first = picked.flat[0]
            if not varies and (picked != first).any():
                varies = True
            if mask_values and not facts.too_many_values:
                values.update(np.unique(picked).tolist())
                if len(values) > MAX_MASK_VALUES:
                    facts.too_many_values = True
        if any_valid and varies and not mask_values:
            break
    facts.all_nodata = not any_valid
    facts.constant = any_valid and not varies
    if mask_values and not facts.too_many_values:
        facts.values = {_label(v) for v in values}


def _label(value: Any) -> str:
    """A mask value as a class label: integral numbers without a decimal point."""
    number = float(value)
    return str(int(number)) if number.is_integer() else repr(number)
