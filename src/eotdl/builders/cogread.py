"""Reading one band of a (local or remote) raster onto a chip's grid, fetching only its window.

A plain window read when the source grid is the chip's (same CRS, pixel size and alignment), a
:class:`rasterio.vrt.WarpedVRT` otherwise, :func:`rasterio.warp.reproject` for sources placed by
ground control points. For ``http(s)://`` COGs GDAL fetches only the tiles the window touches,
with HTTP range requests; :class:`OpenRasters` keeps files open so neighbouring chips share them.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import rasterio
from rasterio.enums import Resampling
from rasterio.vrt import WarpedVRT
from rasterio.windows import Window

from eotdl.builders.chips import Frame, output_nodata
from eotdl.catalog.locations import gdal_http_options


class OpenRasters:
    """Source files kept open and shared by the threads, one lock each.

    GDAL caches a dataset's blocks only while it is open, and its multi-range COG reads skip
    the /vsicurl/ cache: reopening a file for every chip, or one handle per thread, would fetch
    the tiles that neighbouring chips share again. A dataset is used by one thread at a time.
    """

    def __init__(self, limit: int = 256) -> None:
        self.limit = limit
        self._open: OrderedDict[str, _OpenFile] = OrderedDict()
        self._lock = threading.Lock()

    @contextmanager
    def use(self, href: str) -> Iterator[Any]:
        """The open dataset of ``href``, for this thread alone until the block ends."""
        with self._lock:
            entry = self._open.get(href)
            if entry is None:
                entry = self._open[href] = _OpenFile()
            self._open.move_to_end(href)
            self._evict()
        with entry.lock:
            if entry.dataset is None:
                entry.dataset = rasterio.open(href)
            try:
                yield entry.dataset
            finally:
                with self._lock:
                    evicted = self._open.get(href) is not entry
                if evicted:
                    entry.close()

    def _evict(self) -> None:
        while len(self._open) > self.limit:
            for href, entry in self._open.items():
                if entry.lock.acquire(blocking=False):
                    try:
                        entry.close()
                        del self._open[href]
                    finally:
                        entry.lock.release()
                    break
            else:
                return

    def close(self) -> None:
        """Close every file (once the threads are done)."""
        with self._lock:
            for entry in self._open.values():
                entry.close()
            self._open.clear()


@dataclass
class _OpenFile:
    dataset: Any = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def close(self) -> None:
        if self.dataset is not None:
            self.dataset.close()
            self.dataset = None


@dataclass
class BandRead:
    """One band read onto a frame: values, which are valid, and the band's scale/offset."""

    data: np.ndarray
    valid: np.ndarray
    dtype: np.dtype
    scale: float = 1.0
    offset: float = 0.0


def read_band(
    href: str,
    frame: Frame,
    *,
    band: int = 1,
    resampling: Resampling = Resampling.bilinear,
    rasters: OpenRasters | None = None,
) -> BandRead:
    """Read band ``band`` of ``href`` onto ``frame``, fetching only the tiles it needs.

    Sources on the frame's own grid are read as a window; others (another CRS or resolution,
    or ground control points) are warped with ``resampling``. Pixels the source does not
    cover, or where it holds nodata, come back invalid. Raises
    :class:`rasterio.errors.RasterioIOError` when the source cannot be opened or read.
    ``rasters`` keeps sources open between calls (else the file is opened and closed here).
    """
    with rasterio.Env(**gdal_http_options(href)):
        if rasters is not None:
            with rasters.use(href) as src:
                return _read_band(src, band, frame, resampling)
        with rasterio.open(href) as src:
            return _read_band(src, band, frame, resampling)


def _read_band(src: Any, band: int, frame: Frame, resampling: Resampling) -> BandRead:
    """One band of an open dataset onto ``frame`` (see :func:`read_band`)."""
    dtype = np.dtype(src.dtypes[band - 1])
    nodata = src.nodata
    if nodata is None:
        nodata = output_nodata(dtype)
    window = _aligned_window(src, frame)
    if src.crs is None and src.gcps[0]:
        data = _read_gcps(src, band, frame, nodata, resampling)
    elif window is not None:
        inside = (
            window.col_off >= 0
            and window.row_off >= 0
            and window.col_off + window.width <= src.width
            and window.row_off + window.height <= src.height
        )
        data = src.read(band, window=window, boundless=not inside, fill_value=nodata)
    else:
        with WarpedVRT(
            src,
            crs=frame.crs,
            transform=frame.transform,
            width=frame.width,
            height=frame.height,
            resampling=resampling,
            src_nodata=nodata,
            nodata=nodata,
        ) as vrt:
            data = vrt.read(band)
    valid = ~np.isnan(data) if math.isnan(nodata) else data != nodata
    scales, offsets = src.scales or (), src.offsets or ()
    scale = float(scales[band - 1]) if len(scales) >= band else 1.0
    offset = float(offsets[band - 1]) if len(offsets) >= band else 0.0
    return BandRead(data, valid, dtype, scale, offset)


def _read_gcps(
    src: Any, band: int, frame: Frame, nodata: float, resampling: Resampling
) -> np.ndarray:
    """Warp a band georeferenced by ground control points (e.g. Sentinel-1 GRD) onto ``frame``.

    :class:`WarpedVRT` ignores GCPs; :func:`rasterio.warp.reproject` on the dataset's band uses
    GDAL's GCP transformer and still reads only the source window it needs.
    """
    from rasterio.warp import reproject

    gcps, gcps_crs = src.gcps
    out = np.full((frame.height, frame.width), nodata, dtype=src.dtypes[band - 1])
    reproject(
        rasterio.band(src, band),
        out,
        src_crs=gcps_crs,
        gcps=gcps,
        src_nodata=nodata,
        dst_crs=frame.crs,
        dst_transform=frame.transform,
        dst_nodata=nodata,
        resampling=resampling,
    )
    return out


def _aligned_window(src: Any, frame: Frame) -> Window | None:
    """The source window equal to ``frame`` when the grids coincide (no resampling), else None."""
    if src.crs is None or src.crs != rasterio.crs.CRS.from_user_input(frame.crs):
        return None
    s, f = src.transform, frame.transform
    if s.b or s.d or f.b or f.d or not math.isclose(s.a, f.a) or not math.isclose(s.e, f.e):
        return None
    col = (f.c - s.c) / s.a
    row = (f.f - s.f) / s.e
    if abs(col - round(col)) > 1e-6 or abs(row - round(row)) > 1e-6:
        return None
    return Window(round(col), round(row), frame.width, frame.height)
