"""Seeded miniature copies of public EO datasets, in their exact published layouts.

Each function writes a few tiny samples (16×16 px or so) with the real folder and file names,
band counts, data types and a real CRS, so a recipe's builder reads them exactly as it would
read the real download. Run ``python tests/builders/recipes/miniatures.py DIR`` to write them
all into DIR.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import rasterio
from rasterio.transform import from_origin

SEED = 19
#: A real UTM zone and a place in it (near Toulouse) for the georeferenced miniatures.
UTM = "EPSG:32631"
ORIGIN = (370000.0, 4830000.0)
EUROSAT_CLASSES = (
    "AnnualCrop", "Forest", "HerbaceousVegetation", "Highway", "Industrial",
    "Pasture", "PermanentCrop", "Residential", "River", "SeaLake",
)  # fmt: skip


def _tif(
    path: Path,
    data: np.ndarray,
    *,
    x: float,
    y: float,
    resolution: float,
    crs: str = UTM,
    nodata: float | None = None,
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    profile = {
        "driver": "GTiff",
        "width": data.shape[2],
        "height": data.shape[1],
        "count": data.shape[0],
        "dtype": data.dtype.name,
        "crs": crs,
        "transform": from_origin(x, y, resolution, resolution),
        "nodata": nodata,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)


def _jpg(path: Path, data: np.ndarray) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.moveaxis(data, 0, -1)).save(path, quality=95)


def _eurosat_splits(root: Path, per_class: int) -> None:
    """eurosat-{train,val,test}.txt naming .jpg files, as published (one chip per split)."""
    names = {"train": [], "val": [], "test": []}
    for cls in EUROSAT_CLASSES:
        for n in range(1, per_class + 1):
            split = ("train", "val", "test")[(n - 1) % 3]
            names[split].append(f"{cls}_{n}.jpg")
    for split, lines in names.items():
        (root / f"eurosat-{split}.txt").write_text("\n".join(lines) + "\n")


def eurosat(root: Path, per_class: int = 3, splits: bool = True) -> Path:
    """EuroSAT_MS/<Class>/<Class>_<n>.tif: 13-band uint16 GeoTIFFs, 16×16 at 10 m."""
    rng = np.random.default_rng(SEED)
    for c, cls in enumerate(EUROSAT_CLASSES):
        for n in range(1, per_class + 1):
            data = rng.integers(1, 4000, size=(13, 16, 16)).astype("uint16")
            x, y = ORIGIN[0] + 200.0 * n, ORIGIN[1] - 200.0 * c
            _tif(root / "EuroSAT_MS" / cls / f"{cls}_{n}.tif", data, x=x, y=y, resolution=10)
    if splits:
        _eurosat_splits(root, per_class)
    return root


def eurosat_rgb(root: Path, per_class: int = 3, splits: bool = True) -> Path:
    """EuroSAT_RGB/<Class>/<Class>_<n>.jpg: 3-band 8-bit JPEGs, 16×16, no georeference."""
    rng = np.random.default_rng(SEED)
    for cls in EUROSAT_CLASSES:
        for n in range(1, per_class + 1):
            data = rng.integers(0, 255, size=(3, 16, 16)).astype("uint8")
            _jpg(root / "EuroSAT_RGB" / cls / f"{cls}_{n}.jpg", data)
    if splits:
        _eurosat_splits(root, per_class)
    return root


MINIATURES: dict[str, Callable[[Path], Path]] = {
    "eurosat": eurosat,
    "eurosat-rgb": eurosat_rgb,
}


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: miniatures.py DIR", file=sys.stderr)
        return 2
    out = Path(argv[0])
    for name, make in MINIATURES.items():
        make(out / name)
        print(json.dumps({"recipe": name, "folder": str(out / name)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
