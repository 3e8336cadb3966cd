"""Contract case: three classes of GeoTIFF chips, split stratified by class."""

from __future__ import annotations

from pathlib import Path

from cases import Case
from rastergen import write_tif

KIND = "classification-folders"


def make_case(tmp_path: Path) -> Case:
    for c, name in enumerate(["Forest", "Pasture", "River"]):
        for i in range(4):
            write_tif(
                tmp_path / name / f"{name}_{i}.tif",
                seed=10 * c + i,
                bands=3,
                size=16,
                offset=(160.0 * i, -160.0 * c),
            )
    return Case(
        source=str(tmp_path),
        options={"datetime": "2018-06-01"},
        split="stratified:0.5,0.25,0.25",
        items=12,
        splits={"train": 6, "validate": 3, "test": 3},
    )
