"""Contract case: four GeoTIFF image/mask pairs with a YAML class map, a random split."""

from __future__ import annotations

from pathlib import Path

from cases import Case
from rastergen import write_mask, write_tif

KIND = "segmentation-pairs"


def make_case(tmp_path: Path) -> Case:
    source = tmp_path / "pairs"
    for i in range(4):
        offset = (i * 160.0, 0.0)
        write_tif(source / "images" / f"tile_{i}.tif", seed=i, bands=3, size=16, offset=offset)
        write_mask(source / "masks" / f"tile_{i}.tif", [0, 1, 2], seed=i, size=16, offset=offset)
    classes = tmp_path / "classes.yaml"
    classes.write_text("0: background\n1: water\n2: forest\n")
    return Case(
        source=str(source),
        options={"classes": classes, "datetime": "2021-03-04"},
        split="random:0.5,0.25,0.25",
        items=4,
        splits={"train": 2, "validate": 1, "test": 1},
    )
