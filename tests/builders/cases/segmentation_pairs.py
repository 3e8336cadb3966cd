"""Contract case: four GeoTIFF image/mask pairs with a YAML class map, a random split.

The lab factory (tests/labs.py) makes other sizes through the options; ``learnable`` images
follow their mask (a model can learn it).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio

from cases import Case
from rastergen import write_mask, write_tif

KIND = "segmentation-pairs"


def make_case(
    tmp_path: Path,
    *,
    count: int = 4,
    size: int = 16,
    learnable: bool = False,
    stem: str = "tile_{i}",
) -> Case:
    source = tmp_path / "pairs"
    for i in range(count):
        offset = (i * 10.0 * size, 0.0)
        name = f"{stem.format(i=i)}.tif"
        mask = write_mask(source / "masks" / name, [0, 1, 2], seed=i, size=size, offset=offset)
        if learnable:
            with rasterio.open(mask) as src:
                values = src.read(1).astype("uint16")
            rng = np.random.default_rng(i)
            data = (values[None] * 900 + 300 + rng.normal(0, 80, (3, size, size))).clip(1, 4000)
            write_tif(source / "images" / name, data=data.astype("uint16"), offset=offset)
        else:
            write_tif(source / "images" / name, seed=i, bands=3, size=size, offset=offset)
    classes = tmp_path / "classes.yaml"
    classes.write_text("0: background\n1: water\n2: forest\n")
    return Case(
        source=str(source),
        options={"classes": classes, "datetime": "2021-03-04"},
        split="random:0.5,0.25,0.25",
        items=count,
        splits={"train": 2, "validate": 1, "test": 1} if count == 4 else None,
    )
