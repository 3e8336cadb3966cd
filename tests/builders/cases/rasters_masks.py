"""Contract case: eight 64×64 GeoTIFFs with a three-class label mask each, written as COGs.

The QA tests' clean dataset (tests/labs.py makes it with ``qa_clean_lab``).
"""

from __future__ import annotations

from pathlib import Path

from cases import Case
from rastergen import write_mask, write_tif

KIND = "rasters"


def image_name(index: int) -> str:
    return f"t{index}_2023{(index % 12) + 1:02d}15"


def make_case(tmp_path: Path, *, count: int = 8) -> Case:
    for i in range(count):
        offset = (i * 1000.0, 0.0)
        write_tif(tmp_path / "img" / f"{image_name(i)}.tif", seed=i, offset=offset)
        write_mask(tmp_path / "masks" / f"{image_name(i)}.tif", [0, 1, 2], seed=i, offset=offset)
    return Case(
        source=str(tmp_path / "img"),
        options={"masks": tmp_path / "masks", "cog": True},
        split="random:0.5,0.25,0.25",
        items=count,
        splits={"train": 4, "validate": 2, "test": 2} if count == 8 else None,
    )
