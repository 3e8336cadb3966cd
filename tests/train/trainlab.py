"""Tiny labs for the training tests: seeded 16×16 chips whose class the model can learn."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from eotdl.builders.ingest import ingest
from eotdl.catalog.lab import Lab, init_lab
from rastergen import write_mask, write_tif

CLASSES = ["forest", "water"]
SIZE = 16


def classification_lab(root: Path, per_class: int = 8) -> Lab:
    """A lab with ``chips``: two classes told apart by their brightness, random splits."""
    lab = init_lab(root / "lab")
    source = root / "chips-src"
    rng = np.random.default_rng(0)
    for c, name in enumerate(CLASSES):
        for i in range(per_class):
            base = 600 + 1200 * c
            data = (base + rng.normal(0, 150, (4, SIZE, SIZE))).clip(1, 4000).astype("uint16")
            write_tif(
                source / name / f"{name}{i}_20230101.tif",
                data=data,
                offset=(10.0 * SIZE * i, -10.0 * SIZE * c),
            )
    ingest(
        lab,
        "classification-folders",
        str(source),
        "chips",
        split="random:0.5,0.25,0.25",
        progress=False,
    )
    return lab


def segmentation_lab(root: Path, count: int = 8) -> Lab:
    """A lab with ``tiles``: image/mask pairs whose mask follows the image's first band."""
    lab = init_lab(root / "lab")
    source = root / "pairs"
    for i in range(count):
        offset = (i * 10.0 * SIZE, 0.0)
        mask_path = write_mask(
            source / "masks" / f"t{i}.tif", [0, 1, 2], seed=i, size=SIZE, offset=offset
        )
        import rasterio

        with rasterio.open(mask_path) as mask:
            values = mask.read(1).astype("uint16")
        rng = np.random.default_rng(i)
        data = (values[None] * 900 + 300 + rng.normal(0, 80, (3, SIZE, SIZE))).clip(1, 4000)
        write_tif(source / "images" / f"t{i}.tif", data=data.astype("uint16"), offset=offset)
    classes = root / "classes.yaml"
    classes.write_text("0: background\n1: water\n2: forest\n")
    ingest(
        lab,
        "segmentation-pairs",
        str(source),
        "tiles",
        {"classes": str(classes), "datetime": "2021-03-04"},
        split="random:0.5,0.25,0.25",
        progress=False,
    )
    return lab


def die_once(marker: str, at_rank: int, at_epoch: int, rank: int, epoch: int) -> None:
    """An epoch hook: the first time ``at_rank`` finishes ``at_epoch``, its process dies."""
    if rank == at_rank and epoch == at_epoch and not os.path.exists(marker):
        Path(marker).write_text(f"rank {rank} died after epoch {epoch}\n")
        os._exit(1)


def pause(seconds: float, rank: int, epoch: int) -> None:
    """An epoch hook that makes epochs last long enough to be interrupted."""
    import time

    time.sleep(seconds)
