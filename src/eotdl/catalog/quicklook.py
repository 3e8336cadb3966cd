"""Quicklooks of raster chips: which bands to show, a decimated read, and the PNG.

Pure parts (band choice, stretch, rendering) take arrays and return bytes, so ingest and the
site build draw the same picture. Reads ask rasterio for ``out_shape`` only: a COG answers from
its overviews, so a preview costs a few blocks, not the whole file.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Longest side of a preview; chips smaller than ``MIN_SIDE`` are enlarged (nearest) to it.
MAX_SIDE = 256
MIN_SIDE = 128
#: The class palette (RGB), by the class's position in ``label:classes``.
PALETTE: tuple[tuple[int, int, int], ...] = (
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
    (174, 199, 232),
    (255, 187, 120),
)
#: Viridis, sampled at five stops (one band is drawn through it).
_VIRIDIS = np.array(
    [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]], dtype=np.float32
)
_RGB_NAMES = (
    ("red", "green", "blue"),
    ("b04", "b03", "b02"),
    ("b4", "b3", "b2"),
    ("red", "grn", "blu"),
)


@dataclass(frozen=True)
class Chip:
    """What a decimated read returned: bands × height × width, and which pixels are valid."""

    data: np.ndarray
    valid: np.ndarray
    source_shape: tuple[int, int]


def palette_color(index: int) -> tuple[int, int, int]:
    """The colour of the class at ``index`` (the palette repeats past its length)."""
    return PALETTE[index % len(PALETTE)]


def display_bands(asset: Mapping[str, Any], count: int | None = None) -> list[int]:
    """1-based band indexes to show: red/green/blue by common name (or Sentinel-2 name), else
    the first three bands, else the one band."""
    bands = asset.get("eo:bands") or asset.get("bands") or []
    names: list[tuple[str, str, str]] = []
    for band in bands if isinstance(bands, list) else []:
        band = band if isinstance(band, Mapping) else {}
        names.append(
            (
                str(band.get("common_name") or band.get("eo:common_name") or "").lower(),
                str(band.get("name") or "").lower(),
                str(band.get("description") or "").lower(),
            )
        )
    for wanted in _RGB_NAMES:
        found = []
        for name in wanted:
            match = [i for i, keys in enumerate(names) if name in keys]
            if not match:
                break
            found.append(match[0] + 1)
        if len(found) == 3:
            return found
    total = count if count is not None else len(names)
    if total >= 3:
        return [1, 2, 3]
    return [1]


def preview_shape(height: int, width: int, max_side: int = MAX_SIDE) -> tuple[int, int]:
    """The decimated shape to read: at most ``max_side`` on the longer side."""
    longest = max(height, width, 1)
    if longest <= max_side:
        return height, width
    scale = max_side / longest
    return max(1, round(height * scale)), max(1, round(width * scale))


def read_chip(
    location: Any, bands: Sequence[int], max_side: int = MAX_SIDE, opener: Any = None
) -> Chip:
    """Read ``bands`` of the raster at ``location`` decimated to ``max_side`` (overviews).

    ``opener`` (as :func:`rasterio.open` takes it) lets a caller see the bytes read."""
    import rasterio
    from rasterio.enums import Resampling

    with rasterio.open(location, opener=opener) if opener else rasterio.open(location) as src:
        use = [b for b in bands if 1 <= b <= src.count] or [1]
        if len(use) != len(bands) and len(use) < 3:
            use = [use[0]]
        height, width = preview_shape(src.height, src.width, max_side)
        data = src.read(
            use, out_shape=(len(use), height, width), resampling=Resampling.nearest, masked=True
        )
        mask = np.ma.getmaskarray(data).any(axis=0)
        values = np.asarray(data.filled(0), dtype=np.float32)
        valid = ~mask & np.isfinite(values).all(axis=0)
        return Chip(values, np.asarray(valid, dtype=bool), (src.height, src.width))


def read_mask(location: Any, shape: tuple[int, int]) -> np.ndarray:
    """A label mask read at ``shape`` (nearest), with -1 where it has no value."""
    import rasterio
    from rasterio.enums import Resampling

    with rasterio.open(location) as src:
        data = src.read(1, out_shape=shape, resampling=Resampling.nearest, masked=True)
        return np.asarray(data.filled(-1), dtype=np.int64)


def stretch_limits(chips: Sequence[Chip], low: float = 2, high: float = 98) -> list[list[float]]:
    """Per band, the ``low``–``high`` percentiles of the valid pixels of ``chips``."""
    if not chips:
        return []
    bands = max(c.data.shape[0] for c in chips)
    limits = []
    for band in range(bands):
        values = [c.data[band][c.valid] for c in chips if c.data.shape[0] > band]
        pixels = np.concatenate(values) if values else np.zeros(0, dtype=np.float32)
        if pixels.size == 0:
            limits.append([0.0, 1.0])
            continue
        lo, hi = np.percentile(pixels, [low, high])
        if hi <= lo:
            hi = lo + 1.0
        limits.append([float(lo), float(hi)])
    return limits


@dataclass(frozen=True)
class Box:
    """A detection box in the chip's pixels (xmin, ymin, xmax, ymax) and its class index."""

    bounds: tuple[float, float, float, float]
    index: int


def render_png(
    chip: Chip,
    limits: Sequence[Sequence[float]],
    *,
    mask: np.ndarray | None = None,
    boxes: Sequence[Box] = (),
    caption: str = "",
    caption_index: int = 0,
    min_side: int = MIN_SIDE,
) -> bytes:
    """The chip as a PNG: stretched, nodata transparent, with its label drawn over it.

    ``mask`` (class index per pixel, -1 for none) is blended in the class palette; ``boxes``
    are outlined; ``caption`` (a classification chip's class) is written at the bottom.
    """
    from PIL import Image, ImageDraw

    data = chip.data
    scaled = np.empty(data.shape, dtype=np.float32)
    for band in range(data.shape[0]):
        lo, hi = limits[band] if band < len(limits) else (0.0, 1.0)
        scaled[band] = np.clip((data[band] - lo) / max(hi - lo, 1e-12), 0.0, 1.0)
    if data.shape[0] >= 3:
        rgb = np.moveaxis(scaled[:3], 0, -1) * 255.0
    else:
        rgb = _colormap(scaled[0])
    if mask is not None and mask.shape == rgb.shape[:2]:
        colors = np.array([palette_color(i) for i in range(len(PALETTE))], dtype=np.float32)
        labelled = mask >= 0
        tint = colors[np.where(labelled, mask, 0) % len(PALETTE)]
        rgb = np.where(labelled[..., None], 0.45 * rgb + 0.55 * tint, rgb)
    colour = np.clip(rgb, 0, 255).astype(np.uint8)
    if chip.valid.all():
        image = Image.fromarray(colour, "RGB")
    else:  # nodata transparent
        alpha = np.where(chip.valid, 255, 0).astype(np.uint8)
        image = Image.fromarray(np.dstack([colour, alpha]), "RGBA")
    height, width = colour.shape[:2]
    factor = 1
    while max(height, width) * factor < min_side:
        factor += 1
    if factor > 1:
        image = image.resize((width * factor, height * factor), Image.Resampling.NEAREST)
    draw = ImageDraw.Draw(image)
    for box in boxes:
        x0, y0, x1, y1 = (v * factor for v in box.bounds)
        draw.rectangle((x0, y0, x1, y1), outline=palette_color(box.index), width=2)
    if caption:
        _caption(image, draw, caption, caption_index)
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=1)  # fast: previews are small anyway
    return out.getvalue()


def _colormap(values: np.ndarray) -> np.ndarray:
    """One band (0..1) through viridis, as height × width × 3."""
    position = values * (len(_VIRIDIS) - 1)
    low = np.clip(np.floor(position).astype(np.int64), 0, len(_VIRIDIS) - 2)
    frac = (position - low)[..., None]
    return _VIRIDIS[low] * (1 - frac) + _VIRIDIS[low + 1] * frac


def _caption(image: Any, draw: Any, text: str, index: int) -> None:
    from PIL import ImageFont

    size = max(10, image.height // 12)
    try:
        font: Any = ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType: the bitmap font
        font = ImageFont.load_default()
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    pad = max(2, size // 4)
    band_top = image.height - (bottom - top) - 2 * pad
    draw.rectangle((0, band_top, image.width, image.height), fill=(20, 24, 30))
    draw.rectangle((0, band_top, pad, image.height), fill=palette_color(index))
    draw.text((2 * pad, band_top + pad - top), text, fill=(255, 255, 255), font=font)
