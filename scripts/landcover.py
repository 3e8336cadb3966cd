"""A generated, realistic land-cover chip set (EuroSAT layout) for the demo and benchmarks.

A few Sentinel-2-like scenes (B02, B03, B04, B08 at 10 m, UTM 31N near Toulouse) are drawn from
smooth random fields into five land-cover classes with their typical reflectances plus noise,
then cut into chips whose class is the majority class; chips go to one folder per class.
Seeded: the same arguments give the same bytes.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import rasterio
from rasterio.transform import from_origin

CLASSES = ("water", "forest", "cropland", "urban", "bare")
#: Typical surface reflectance ×10⁴ for B02, B03, B04, B08.
SIGNATURES = {
    "water": (450, 550, 350, 200),
    "forest": (250, 450, 300, 3200),
    "cropland": (500, 800, 700, 2600),
    "urban": (1200, 1250, 1300, 1800),
    "bare": (1100, 1400, 1700, 2200),
}
BANDS = ("B02", "B03", "B04", "B08")
CRS = "EPSG:32631"


def _smooth_field(rng: np.random.Generator, size: int, scale: int) -> np.ndarray:
    coarse = rng.random((size // scale + 2, size // scale + 2))
    rows = np.linspace(0, coarse.shape[0] - 1.001, size)
    cols = np.linspace(0, coarse.shape[1] - 1.001, size)
    r0, c0 = rows.astype(int), cols.astype(int)
    fr, fc = (rows - r0)[:, None], (cols - c0)[None, :]
    a = coarse[r0][:, c0]
    b = coarse[r0][:, c0 + 1]
    c = coarse[r0 + 1][:, c0]
    d = coarse[r0 + 1][:, c0 + 1]
    return (a * (1 - fc) + b * fc) * (1 - fr) + (c * (1 - fc) + d * fc) * fr


def scene(seed: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """A scene's reflectances (4, size, size) uint16 and its class map (size, size)."""
    rng = np.random.default_rng(seed)
    fields = np.stack([_smooth_field(rng, size, 24) for _ in CLASSES])
    fields[0] *= 0.8  # less water than land
    classes = fields.argmax(axis=0)
    image = np.zeros((4, size, size), dtype="float32")
    for index, name in enumerate(CLASSES):
        signature = np.array(SIGNATURES[name], dtype="float32")[:, None, None]
        image += (classes == index)[None] * signature
    image *= rng.normal(1.0, 0.08, size=image.shape).astype("float32")
    return np.clip(image, 1, 10000).astype("uint16"), classes


def generate(out: Path, scenes: int = 3, size: int = 256, chip: int = 32, seed: int = 7) -> int:
    """Write the chip folders into ``out``; return the number of chips."""
    count = 0
    for s in range(scenes):
        image, classes = scene(seed + s, size)
        date = f"2023{4 + 2 * s:02d}15"
        x0, y0 = 360000.0 + s * size * 10 * 1.5, 4830000.0
        for r in range(size // chip):
            for c in range(size // chip):
                window = (slice(r * chip, (r + 1) * chip), slice(c * chip, (c + 1) * chip))
                counts = np.bincount(classes[window].ravel(), minlength=len(CLASSES))
                name = CLASSES[int(counts.argmax())]
                path = out / name / f"scene{s}_r{r:02d}_c{c:02d}_{date}.tif"
                path.parent.mkdir(parents=True, exist_ok=True)
                transform = from_origin(x0 + c * chip * 10, y0 - r * chip * 10, 10, 10)
                with rasterio.open(
                    path,
                    "w",
                    driver="GTiff",
                    width=chip,
                    height=chip,
                    count=4,
                    dtype="uint16",
                    crs=CRS,
                    transform=transform,
                    nodata=0,
                    tiled=False,
                ) as dst:
                    dst.write(image[(slice(None), *window)])
                    for index, band in enumerate(BANDS, start=1):
                        dst.set_band_description(index, band)
                count += 1
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--scenes", type=int, default=3)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--chip", type=int, default=32)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print(f"{generate(args.out, args.scenes, args.size, args.chip, args.seed)} chips in {args.out}")


if __name__ == "__main__":
    main()
