"""Tiny, seeded GeoTIFFs with a real CRS, made by the tests themselves (torchgeo style)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
from rasterio.transform import from_origin

#: UTM 31N, near Toulouse: a real place with a real projection.
CRS = "EPSG:32631"
ORIGIN = (370000.0, 4830000.0)


def write_tif(
    path: Path,
    *,
    seed: int = 0,
    bands: int = 4,
    size: int = 64,
    dtype: str = "uint16",
    offset: tuple[float, float] = (0.0, 0.0),
    resolution: float = 10.0,
    crs: str | None = CRS,
    nodata: float | None = 0,
    data: np.ndarray | None = None,
    tags: dict[str, str] | None = None,
) -> Path:
    """Write a ``bands``×``size``×``size`` GeoTIFF; ``offset`` shifts it in metres."""
    rng = np.random.default_rng(seed)
    if data is None:
        if np.issubdtype(np.dtype(dtype), np.integer):
            data = rng.integers(1, 3000, size=(bands, size, size)).astype(dtype)
        else:
            data = rng.random((bands, size, size)).astype(dtype)
    path.parent.mkdir(parents=True, exist_ok=True)
    transform = from_origin(ORIGIN[0] + offset[0], ORIGIN[1] + offset[1], resolution, resolution)
    profile = {
        "driver": "GTiff",
        "width": data.shape[2],
        "height": data.shape[1],
        "count": data.shape[0],
        "dtype": data.dtype.name,
        "transform": transform,
        "nodata": nodata,
    }
    if crs:
        profile["crs"] = crs
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
        if tags:
            dst.update_tags(**tags)
    return path


def write_mask(path: Path, classes: list[int], *, seed: int = 0, size: int = 64, **kw) -> Path:
    """A one-band uint8 mask using the given class values."""
    rng = np.random.default_rng(seed)
    data = rng.choice(np.array(classes, dtype="uint8"), size=(1, size, size))
    return write_tif(path, data=data, nodata=None, **kw)
