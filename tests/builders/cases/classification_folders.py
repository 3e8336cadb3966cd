"""Contract case: three classes of GeoTIFF chips, split stratified by class.

The lab factory (tests/labs.py) makes other sizes of the same source through the options;
``learnable`` chips are told apart by their brightness (a model can learn them).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from cases import Case
from rastergen import write_tif

KIND = "classification-folders"


def make_case(
    tmp_path: Path,
    *,
    classes: Sequence[str] = ("Forest", "Pasture", "River"),
    per_class: int = 4,
    size: int = 16,
    bands: int = 3,
    learnable: bool = False,
    stem: str = "{cls}_{i}",
    datetime: str | None = "2018-06-01",
    split: str | None = "stratified:0.5,0.25,0.25",
) -> Case:
    rng = np.random.default_rng(0)
    for c, name in enumerate(classes):
        for i in range(per_class):
            data = None
            if learnable:
                base = 600 + 1200 * c
                noise = rng.normal(0, 150, (bands, size, size))
                data = (base + noise).clip(1, 4000).astype("uint16")
            write_tif(
                tmp_path / name / f"{stem.format(cls=name, c=c, i=i)}.tif",
                seed=10 * c + i,
                bands=bands,
                size=size,
                offset=(10.0 * size * i, -10.0 * size * c),
                data=data,
            )
    default = per_class == 4 and len(classes) == 3 and split == "stratified:0.5,0.25,0.25"
    return Case(
        source=str(tmp_path),
        options={"datetime": datetime} if datetime else {},
        split=split,
        items=len(classes) * per_class,
        splits={"train": 6, "validate": 3, "test": 3} if default else None,
    )
