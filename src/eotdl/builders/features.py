"""Feature engineering steps, recorded so a rebuild gives the same bytes.

Each step is plain data (a dict written to ``recipe.yaml`` and to the collection's processing
lineage) plus the function that applies it: writing deterministic COGs, tiling a raster into
chips with overlap, spectral indices, label rasterisation, and normalisation statistics.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from rasterio.windows import Window

from eotdl.errors import InputError

#: Spectral indices: name -> (first band, second band); value = (a - b) / (a + b).
INDICES: dict[str, tuple[str, str]] = {
    "ndvi": ("nir", "red"),
    "ndwi": ("green", "nir"),
    "ndbi": ("swir16", "nir"),
    "nbr": ("nir", "swir22"),
}
COG_OPTIONS = {
    "driver": "COG",
    "compress": "deflate",
    "blocksize": 256,
    "overview_resampling": "nearest",
}


def write_cog(path: Path, data: np.ndarray, profile: dict[str, Any]) -> Path:
    """Write ``data`` (bands, rows, cols) as a COG; the same input gives the same bytes."""
    options = {
        **COG_OPTIONS,
        "width": data.shape[2],
        "height": data.shape[1],
        "count": data.shape[0],
        "dtype": data.dtype.name,
        "crs": profile.get("crs"),
        "transform": profile["transform"],
        "nodata": profile.get("nodata"),
    }
    if min(data.shape[1:]) < 512:
        options["blocksize"] = 128
    path.parent.mkdir(parents=True, exist_ok=True)
    with rasterio.open(path, "w", **options) as dst:
        dst.write(data)
        descriptions = profile.get("descriptions")
        if descriptions:
            for index, text in enumerate(descriptions, start=1):
                if text:
                    dst.set_band_description(index, text)
    return path


@dataclass(frozen=True)
class Chip:
    """A window of a source raster: its position in the chip grid and its pixel window."""

    row: int
    col: int
    window: Window


def chip_windows(width: int, height: int, size: int, overlap: int = 0) -> Iterator[Chip]:
    """Windows of ``size`` pixels with ``overlap`` between neighbours, covering the raster.

    The last row and column are shifted back inside the raster so every chip is full size.
    """
    if size <= 0 or overlap < 0 or overlap >= size:
        raise InputError(f"chip size {size} with overlap {overlap}: need 0 <= overlap < size")
    if width < size or height < size:
        return
    stride = size - overlap
    cols = _starts(width, size, stride)
    rows = _starts(height, size, stride)
    for r, y in enumerate(rows):
        for c, x in enumerate(cols):
            yield Chip(r, c, Window(x, y, size, size))


def _starts(length: int, size: int, stride: int) -> list[int]:
    starts = list(range(0, length - size + 1, stride))
    if starts[-1] + size < length:
        starts.append(length - size)
    return starts


def band_roles(src: Any, mapping: dict[str, int] | None) -> dict[str, int]:
    """common name (red, nir…) -> 1-based band index, from ``mapping`` or band descriptions."""
    if mapping:
        return dict(mapping)
    found = {}
    for index, description in enumerate(src.descriptions or (), start=1):
        if description:
            found[description.lower()] = index
    return found


def spectral_index(data: np.ndarray, name: str, roles: dict[str, int], nodata: Any) -> np.ndarray:
    """The normalised difference ``name`` over ``data`` (bands, rows, cols) as float32."""
    if name not in INDICES:
        raise InputError(f"unknown index {name!r}", hint=f"known: {', '.join(sorted(INDICES))}")
    first, second = INDICES[name]
    missing = [b for b in (first, second) if b not in roles]
    if missing:
        raise InputError(
            f"index {name} needs bands {', '.join(missing)}",
            hint="name them with --bands red=3,nir=4,… (1-based band numbers)",
        )
    a = data[roles[first] - 1].astype("float32")
    b = data[roles[second] - 1].astype("float32")
    with np.errstate(divide="ignore", invalid="ignore"):
        value = (a - b) / (a + b)
    invalid = ~np.isfinite(value)
    if nodata is not None and not (isinstance(nodata, float) and math.isnan(nodata)):
        invalid |= (data[roles[first] - 1] == nodata) | (data[roles[second] - 1] == nodata)
    value[invalid] = np.nan
    return value[np.newaxis, ...]


def parse_band_map(text: str | None) -> dict[str, int] | None:
    """``red=3,nir=4`` -> {"red": 3, "nir": 4}."""
    if not text:
        return None
    out = {}
    for part in text.split(","):
        name, _, number = part.partition("=")
        try:
            out[name.strip().lower()] = int(number)
        except ValueError:
            raise InputError(
                f"--bands {text!r}: write name=number pairs, e.g. red=3,nir=4"
            ) from None
    return out


def load_vector_labels(path: Path, class_property: str) -> tuple[list[dict[str, Any]], list[str]]:
    """GeoJSON features (lon/lat) and the sorted class names they use."""
    from eotdl.builders.geojsonfile import read_geojson  # the one GeoJSON guard

    features = read_geojson(path, "labels")
    classes = set()
    for number, feature in enumerate(features, start=1):
        props = feature.get("properties") or {}
        if class_property not in props:
            raise InputError(
                f"{path}: feature #{number} has no {class_property!r} property",
                hint="name the class property with --class-property",
            )
        classes.add(str(props[class_property]))
    return features, sorted(classes)


def rasterize_labels(
    features: list[dict[str, Any]],
    classes: list[str],
    class_property: str,
    shape: tuple[int, int],
    transform: Any,
    crs: Any,
) -> np.ndarray:
    """A uint8 mask (0 = background, class i = i + 1) of the features on a raster grid."""
    from rasterio.features import rasterize

    from eotdl.builders.geojsonfile import project

    values = {name: index + 1 for index, name in enumerate(classes)}
    shapes = []
    for index, feature in enumerate(features):
        geometry = feature.get("geometry")
        if not geometry:
            continue
        where = f"label feature {index}"
        projected = project(geometry, "EPSG:4326", crs, where) if crs else geometry
        value = values[str(feature["properties"][class_property])]
        shapes.append((projected, value))
    if not shapes:
        return np.zeros((1, *shape), dtype="uint8")
    mask = rasterize(shapes, out_shape=shape, transform=transform, fill=0, dtype="uint8")
    return mask[np.newaxis, ...]


@dataclass
class BandStatistics:
    """Running per-band mean and standard deviation over valid pixels (Chan et al. merge)."""

    count: np.ndarray = field(default_factory=lambda: np.zeros(0))
    mean: np.ndarray = field(default_factory=lambda: np.zeros(0))
    m2: np.ndarray = field(default_factory=lambda: np.zeros(0))
    minimum: np.ndarray = field(default_factory=lambda: np.zeros(0))
    maximum: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def add(self, data: np.ndarray, nodata: Any) -> None:
        bands = data.shape[0]
        if self.count.size == 0:
            self.count = np.zeros(bands)
            self.mean = np.zeros(bands)
            self.m2 = np.zeros(bands)
            self.minimum = np.full(bands, np.inf)
            self.maximum = np.full(bands, -np.inf)
        for b in range(bands):
            values = data[b].astype("float64").ravel()
            valid = np.isfinite(values)
            if nodata is not None and not (isinstance(nodata, float) and math.isnan(nodata)):
                valid &= values != nodata
            values = values[valid]
            if values.size == 0:
                continue
            n, mean, m2 = values.size, values.mean(), ((values - values.mean()) ** 2).sum()
            total = self.count[b] + n
            delta = mean - self.mean[b]
            self.mean[b] += delta * n / total
            self.m2[b] += m2 + delta**2 * self.count[b] * n / total
            self.count[b] = total
            self.minimum[b] = min(self.minimum[b], values.min())
            self.maximum[b] = max(self.maximum[b], values.max())

    def merge(self, other: BandStatistics) -> None:
        """Fold another accumulator into this one (in a fixed order, for identical results)."""
        if other.count.size == 0:
            return
        if self.count.size == 0:
            self.count, self.mean, self.m2 = other.count.copy(), other.mean.copy(), other.m2.copy()
            self.minimum, self.maximum = other.minimum.copy(), other.maximum.copy()
            return
        total = self.count + other.count
        safe = np.where(total > 0, total, 1)
        delta = other.mean - self.mean
        self.mean = self.mean + delta * other.count / safe
        self.m2 = self.m2 + other.m2 + delta**2 * self.count * other.count / safe
        self.count = total
        self.minimum = np.minimum(self.minimum, other.minimum)
        self.maximum = np.maximum(self.maximum, other.maximum)

    def summary(self) -> list[dict[str, float]]:
        """``raster:bands``-style statistics per band."""
        out: list[dict[str, float]] = []
        for b in range(self.count.size):
            if self.count[b] == 0:
                out.append({})
                continue
            out.append(
                {
                    "minimum": float(self.minimum[b]),
                    "maximum": float(self.maximum[b]),
                    "mean": round(float(self.mean[b]), 6),
                    "stddev": round(float(math.sqrt(self.m2[b] / self.count[b])), 6),
                    "valid_percent": 100.0,
                }
            )
        return out


def read_all(path: Path) -> tuple[np.ndarray, dict[str, Any]]:
    """A raster's pixels and the profile fields the chip writer needs."""
    with rasterio.open(path) as src:
        return src.read(), {
            "crs": src.crs,
            "transform": src.transform,
            "nodata": src.nodata,
            "descriptions": src.descriptions,
        }
